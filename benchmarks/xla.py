"""The TensorFlow engine with and without XLA (``jit_compile``), in one run.

    python benchmarks/xla.py                      # the cases below, 3 runs
    python benchmarks/xla.py --cases digits --runs 5
    python benchmarks/xla.py --code /tmp/old .    # two source trees, alternating

What ``_program.uses_xla``'s rule for ``jit_compile="auto"`` is derived
from: for each case, fresh processes with ``jit_compile=True`` and
``False`` alternating (and each ``--code`` tree), a first fit (XLA's
compile included) then ``--fits`` more fits in the same process (their
median is the repeat fit). Wall and CPU seconds both: on a shared machine
the process's CPU time is the steadier of the two. Cases: Adam, batch 128,
no dropout; the work column is an epoch's training rows x weights, what the
rule compares with ``XLA_MIN_WORK``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import add_data_argument

HERE = Path(__file__).resolve().parent

# name: (rows, hidden, epochs); digits has 1,797 rows, MNIST 60,000.
CASES = {
    "digits": (1797, (64,), 10),
    "mnist-5k": (5000, (128, 128), 5),
    "mnist-20k": (20000, (128, 128), 5),
    "mnist": (60000, (128, 128), 5),
    "defaults-1ep": (60000, (256, 256), 1),
}


def _data(case, data_dir):
    rows = CASES[case][0]
    if case == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16).astype("float32"), y
    from skmlp.datasets import load_mnist, to_features

    (X, y), _ = load_mnist(data_dir)
    return to_features(X)[:rows], y[:rows].astype("int64")


def worker(case, jit, fits, data_dir):
    import skmlp._keras  # noqa: F401  (imports are not timed)
    from skmlp import MLPKerasClassifier
    from skmlp._engine import _program

    X, y = _data(case, data_dir)
    _, hidden, epochs = CASES[case]
    jit_compile = {"true": True, "false": False, "auto": "auto"}[jit]
    wall, cpu = [], []
    for seed in range(1 + fits):
        start, start_cpu = time.perf_counter(), time.process_time()
        clf = MLPKerasClassifier(
            hidden, epochs=epochs, batch_size=128, dropout=0.0,
            random_state=seed, jit_compile=jit_compile,
        ).fit(X, y)  # fmt: skip
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    widths = clf._spec.widths()
    return {
        "first": wall[0],
        "first_cpu": cpu[0],
        "repeat": statistics.median(wall[1:]),
        "repeat_cpu": statistics.median(cpu[1:]),
        "xla": _program.uses_xla(clf._spec),
        "work": len(X) * sum(a * b for a, b in zip(widths, widths[1:], strict=False)),
    }


def _run(case, jit, fits, data_dir, code=None):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    if code:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(code).resolve()), *filter(None, [env.get("PYTHONPATH")])]
        )
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", case, jit,
           "--fits", str(fits), "--data", str(data_dir)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{case} jit_compile={jit}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fits", type=int, default=2, help="fits after the first")
    parser.add_argument("--code", nargs="+", default=[None], help="source trees")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "xla.md")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.fits, args.data)))
        return 0
    command = " ".join(["python benchmarks/xla.py", *(argv or sys.argv[1:])])
    lines = [f"`{command}`: medians of {args.runs} fresh processes per row, "
             "alternating; ratios XLA / graph of the medians.", ""]  # fmt: skip

    def say(line=""):
        print(line, flush=True)
        lines.append(line)

    say("| case | tree | jit_compile | work (rows x weights) | first fit s (CPU s) | "
        "repeat fit s (CPU s) |")  # fmt: skip
    say("|---|---|---|---|---|---|")
    for case in args.cases:
        runs = {(code, jit): [] for code in args.code for jit in ("true", "false")}
        for _ in range(args.runs):
            for code, jit in runs:
                runs[code, jit].append(_run(case, jit, args.fits, args.data, code))
        med = {
            key: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k != "xla"}
            for key, rs in runs.items()
        }
        for (code, jit), m in med.items():
            say(f"| {case} | {code or '.'} | {jit} | {m['work']:.1e} | "
                f"{m['first']:.3f} ({m['first_cpu']:.2f}) | "
                f"{m['repeat']:.3f} ({m['repeat_cpu']:.2f}) |")  # fmt: skip
        for code in args.code:
            x, g = med[code, "true"], med[code, "false"]
            say(f"| {case} | {code or '.'} | XLA / graph | | "
                f"{x['first'] / g['first']:.2f}x ({x['first_cpu'] / g['first_cpu']:.2f}x) | "
                f"{x['repeat'] / g['repeat']:.2f}x ({x['repeat_cpu'] / g['repeat_cpu']:.2f}x) |")  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
