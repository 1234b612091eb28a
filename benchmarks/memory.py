"""Memory and time over many fits with distinct optimizer settings, in one process.

    python benchmarks/memory.py                          # TensorFlow and JAX, 3 repeats
    python benchmarks/memory.py --backends jax --repeats 1
    python benchmarks/memory.py --code /tmp/old . --repeats 3   # two source trees, alternating

What a search over ``momentum`` or ``beta_1`` does to a process: each worker
(a fresh process per backend and repeat, with an empty JAX compilation
cache) fits a (64,) network on digits, 5 epochs, batch 128, no dropout, with
a setting no earlier fit used: fits alternate between SGD with a new
``momentum`` and Adam with a new ``optimizer__beta_1``. After ``--warmup``
such fits (10) the resident memory (psutil RSS, after ``gc.collect()``) is
read, then after ``--fits`` more (100):

- **MB per fit** = (RSS after the last fit - RSS after the warm-up) / fits;
  the target is at most 1 MB per fit on TensorFlow and JAX. The slope of a
  least-squares line through every fit's RSS is given beside it.
- **new value / repeat**: the median time of a fit with a value never seen
  (the fits above) against the median time of a fit that repeats a value
  already seen (``--repeat-fits`` fits after the last, per optimizer): what a
  compile per value costs. With settings as inputs of the compiled step the
  ratio is about 1.
- **epochs traced**: epoch programs traced during the measured fits
  (``skmlp._engine._program.TRACES``, where the code has it).

``--code DIR ...`` runs the workers with each source tree first on
``PYTHONPATH`` (e.g. a ``git worktree`` of an older commit), alternating the
trees within each repeat so all see the same machine load; each worker
reports the ``skmlp`` it imported. Medians over repeats, with the range.
Output: printed and written to ``benchmarks/results/memory.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _settings(i: int) -> dict:
    """The i-th fit's optimizer: never the same value twice."""
    value = 0.5 + 0.45 * ((i * 0.6180339887) % 1.0)  # distinct, spread in [0.5, 0.95)
    if i % 2 == 0:
        return {"optimizer": "sgd", "momentum": round(value, 9)}
    return {"optimizer": "adam", "optimizer__beta_1": round(value, 9)}


def worker(warmup: int, fits: int, repeat_fits: int, epochs: int) -> dict:
    import numpy as np
    import psutil
    from sklearn.datasets import load_digits

    import skmlp
    from skmlp import MLPKerasClassifier

    try:
        from skmlp._engine._program import TRACES
    except ImportError:  # pragma: no cover - code without the counter
        TRACES = None

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    process = psutil.Process()

    def fit(i):
        start = time.perf_counter()
        MLPKerasClassifier(
            (64,), epochs=epochs, batch_size=128, dropout=0.0, random_state=0,
            **_settings(i),
        ).fit(X, y).predict_proba(X[:1])  # fmt: skip
        return time.perf_counter() - start

    def rss():
        gc.collect()
        return process.memory_info().rss / 2**20

    for i in range(warmup):
        fit(i)
    rss_warm = rss()
    traced = TRACES["epoch"] if TRACES is not None else None
    rss_each, new_times = [], {"sgd": [], "adam": []}
    for i in range(warmup, warmup + fits):
        new_times[_settings(i)["optimizer"]].append(fit(i))
        rss_each.append(process.memory_info().rss / 2**20)
    rss_end = rss()
    if TRACES is not None:
        traced = TRACES["epoch"] - traced
    # Repeat the last settings of each optimizer: values already seen.
    repeat_times = {"sgd": [], "adam": []}
    last = warmup + fits
    for i in range(last - 2 * repeat_fits, last):
        repeat_times[_settings(i)["optimizer"]].append(fit(i))
    slope = float(np.polyfit(np.arange(fits), rss_each, 1)[0])
    return {
        "skmlp": skmlp.__file__,
        "rss_warm": rss_warm,
        "rss_end": rss_end,
        "mb_per_fit": (rss_end - rss_warm) / fits,
        "slope": slope,
        "traced": traced,
        **{
            f"{opt}_ratio": statistics.median(new_times[opt])
            / statistics.median(repeat_times[opt])
            for opt in new_times
        },
        **{f"{opt}_new_s": statistics.median(new_times[opt]) for opt in new_times},
        **{
            f"{opt}_repeat_s": statistics.median(repeat_times[opt]) for opt in new_times
        },
    }


def _run(code: str | None, backend: str, args) -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "KERAS_BACKEND": backend, "SKMLP_DATA": home}
        if code:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(code).resolve()), *filter(None, [env.get("PYTHONPATH")])]
            )
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--warmup", str(args.warmup),
               "--fits", str(args.fits), "--repeat-fits", str(args.repeat_fits),
               "--epochs", str(args.epochs)]  # fmt: skip
        result = subprocess.run(
            cmd, capture_output=True, text=True, env=env, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"{code} on {backend}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _spread(runs, key, fmt):
    values = [r[key] for r in runs]
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{median:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--fits", type=int, default=100)
    parser.add_argument("--repeat-fits", type=int, default=5, help="per optimizer")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--code", nargs="+", help="source trees to compare")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "memory.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.warmup, args.fits, args.repeat_fits, args.epochs)
        print(json.dumps(result))
        return 0

    codes = args.code or [None]
    command = " ".join(["python benchmarks/memory.py", *(argv or sys.argv[1:])])
    lines = ["# Memory over many optimizer settings", "",
             f"`{command}`: each row a median of {args.repeats} fresh processes "
             "(range in brackets), trees alternating.", ""]  # fmt: skip

    def say(line=""):
        print(line, flush=True)
        lines.append(line)

    for backend in args.backends:
        runs = {code: [] for code in codes}
        for _ in range(args.repeats):
            for code in codes:
                runs[code].append(_run(code, backend, args))
        say(f"## {backend}: {args.fits} fits after {args.warmup}, (64,) on digits, "
            f"{args.epochs} epochs, SGD momentum / Adam beta_1 alternating")  # fmt: skip
        say()
        say("| code | MB per fit | slope MB per fit | RSS after warm-up -> end MB "
            "| SGD new value / repeat | Adam new value / repeat "
            "| SGD new, repeat s | Adam new, repeat s | epochs traced |")  # fmt: skip
        say("|---|---|---|---|---|---|---|---|---|")
        for rs in runs.values():
            where = str(Path(rs[0]["skmlp"]).parent.parent)
            say(f"| {where} | {_spread(rs, 'mb_per_fit', '.2f')} | {_spread(rs, 'slope', '.2f')} | "
                f"{statistics.median(r['rss_warm'] for r in rs):.0f} -> "
                f"{statistics.median(r['rss_end'] for r in rs):.0f} | "
                f"{_spread(rs, 'sgd_ratio', '.1f')}x | {_spread(rs, 'adam_ratio', '.1f')}x | "
                f"{statistics.median(r['sgd_new_s'] for r in rs):.3f}, "
                f"{statistics.median(r['sgd_repeat_s'] for r in rs):.3f} | "
                f"{statistics.median(r['adam_new_s'] for r in rs):.3f}, "
                f"{statistics.median(r['adam_repeat_s'] for r in rs):.3f} | "
                f"{statistics.median(r['traced'] for r in rs) if rs[0]['traced'] is not None else ''} |")  # fmt: skip
        say()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
