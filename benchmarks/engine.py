"""The compiled engine's targets, side by side with the alternatives, in one run.

    python benchmarks/engine.py --quick          # a few minutes: digits, flatness
    python benchmarks/engine.py                  # + full MNIST and the defaults
    python benchmarks/engine.py --gpu            # on a GPU machine (JAX, torch)

Cases (each contender in fresh processes, interleaved, medians reported):

- ``digits``: a (64,) network, 10 epochs, batch 128, Adam, fitted twice in one
  process; the second fit is the cost of every CV fold and grid candidate.
- ``mnist``: 784-128-128-10, Adam, batch 128 (5 epochs on a CPU, 10 on a
  GPU), first fit of a fresh process (empty compilation cache; a warm-cache
  figure beside it) and a second fit in the same process.
- ``flat``: 100 consecutive small fits in one process: resident memory per
  fit and the time of the last 10 fits against fits 6-15.
- ``defaults``: bare ``MLPKerasClassifier()`` against bare
  ``MLPClassifier()`` on full MNIST scaled to [0, 1]: time and accuracy.

Contenders: ``skmlp`` (the engine), ``skmlp-keras`` (``engine="keras"``),
``sklearn`` (``MLPClassifier``), ``keras`` (plain ``model.fit``),
``scikeras``, and ``limit`` (``limit.py``: a hand-written JAX loop).
skmlp's workers also time ``predict_proba`` of one row (median of 200 calls
after one untimed call) after the second fit.

Two versions of skmlp against each other (``--code``): each source tree is put
first on ``PYTHONPATH`` (a ``git worktree`` of an older commit, say), only
``skmlp`` runs, the trees alternate within each run so both see the same
machine load, and the ratio last tree / first tree is given with the range.
``--fits N`` times N fits after the first in each process and reports their
median as the second fit (steadier on a busy machine)::

    git worktree add /tmp/old 402062b
    python benchmarks/engine.py --code /tmp/old . --cases digits mnist --runs 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# benchmarks/ is on sys.path: it is the folder of the script being run.
from _common import add_data_argument, apply_xla_options

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def _mnist(data_dir):
    from skmlp.datasets import load_mnist, to_features

    (X, y), (X_test, y_test) = load_mnist(data_dir)
    return (
        to_features(X),
        y.astype("int64"),
        to_features(X_test),
        y_test.astype("int64"),
    )


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype("float32"), y, (X / 16).astype("float32"), y


def _jit_compile():
    """skmlp's ``jit_compile`` in this run (``--jit-compile``)."""
    value = os.environ.get("BENCH_JIT_COMPILE", "auto")
    return {"true": True, "false": False}.get(value, value)


def _versions() -> str:
    import importlib.metadata as metadata
    import platform

    names = ("numpy", "scikit-learn", "keras", "tensorflow", "jax", "torch")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def _fitter(contender: str, hidden, epochs: int, seed: int):
    """A function (X, y) -> predict_proba for one contender's fit."""
    if contender in ("skmlp", "skmlp-keras"):
        from skmlp import MLPKerasClassifier

        engine = "keras" if contender == "skmlp-keras" else "auto"
        jit_compile = _jit_compile()

        def fit(X, y):
            return (
                MLPKerasClassifier(
                    hidden,
                    epochs=epochs,
                    batch_size=128,
                    dropout=0.0,  # the same network as the other contenders'
                    random_state=seed,
                    engine=engine,
                    jit_compile=jit_compile,
                )
                .fit(X, y)
                .predict_proba
            )

    elif contender == "sklearn":
        import warnings

        from sklearn.neural_network import MLPClassifier

        def fit(X, y):
            est = MLPClassifier(
                hidden, batch_size=128, max_iter=epochs, n_iter_no_change=epochs + 1,
                tol=0.0, alpha=0.0, random_state=seed,
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "did not converge"
                return est.fit(X, y).predict_proba

    elif contender in ("keras", "scikeras"):
        import keras

        def model():
            layers = [keras.Input((784 if hidden != (64,) else 64,))]
            layers += [keras.layers.Dense(u, activation="relu") for u in hidden]
            return keras.Sequential(
                [*layers, keras.layers.Dense(10, activation="softmax")]
            )

        def fit(X, y):
            if contender == "scikeras":
                from scikeras.wrappers import KerasClassifier

                est = KerasClassifier(
                    model, loss="sparse_categorical_crossentropy", optimizer="adam",
                    batch_size=128, epochs=epochs, verbose=0, random_state=seed,
                )  # fmt: skip
                return est.fit(X, y).predict_proba
            keras.utils.set_random_seed(seed)
            net = model()
            net.compile("adam", "sparse_categorical_crossentropy")
            net.fit(X, y, batch_size=128, epochs=epochs, verbose=0)
            return lambda X: net.predict(X, verbose=0)

    elif contender == "limit":
        import limit

        def fit(X, y):
            limit.fit(X, y, epochs, seed)
            return None

    else:
        raise SystemExit(f"unknown contender {contender}")
    return fit


def worker(
    case: str, contender: str, epochs: int, data_dir: str, fits: int = 1
) -> dict:
    import numpy as np

    import skmlp._keras  # noqa: F401  (imports are not timed)

    apply_xla_options()

    if case == "flat":
        import psutil

        from skmlp import MLPKerasClassifier

        X, y, _, _ = _digits()
        rss, times = [], []
        for i in range(100):
            start = time.perf_counter()
            MLPKerasClassifier((32,), epochs=2, random_state=i).fit(X, y).predict_proba(
                X[:10]
            )
            times.append(time.perf_counter() - start)
            rss.append(psutil.Process().memory_info().rss / 2**20)
        return {
            "mb_per_fit": (rss[-1] - rss[4]) / 95,
            "time_ratio": statistics.mean(times[-10:]) / statistics.mean(times[5:15]),
            "rss": rss,
            "times": times,
        }
    if case == "defaults":
        X, y, X_test, y_test = _mnist(data_dir)
        if contender == "skmlp":
            from skmlp import MLPKerasClassifier as Estimator
        else:
            from sklearn.neural_network import MLPClassifier as Estimator
        seed = int(os.environ.get("BENCH_SEED", "0"))
        extra = {"jit_compile": _jit_compile()} if contender == "skmlp" else {}
        start = time.perf_counter()
        est = Estimator(random_state=seed, **extra).fit(X, y)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "accuracy": float(est.score(X_test, y_test))}
    X, y, X_test, y_test = _digits() if case == "digits" else _mnist(data_dir)
    hidden = (64,) if case == "digits" else (128, 128)
    times, proba = [], None
    for seed in range(1 + fits):
        start = time.perf_counter()
        proba = _fitter(contender, hidden, epochs, seed)(X, y)
        times.append(time.perf_counter() - start)
    accuracy = (
        float(np.mean(np.argmax(proba(X_test), 1) == y_test)) if proba else float("nan")
    )
    # "second": the median of the fits after the first (one by default).
    second = statistics.median(times[1:])
    result = {"first": times[0], "second": second, "accuracy": accuracy}
    result["second_min"] = min(times[1:])  # the least disturbed by other load
    if contender.startswith("skmlp"):
        import skmlp

        one_row = X_test[:1]
        proba(one_row)  # the first call builds whatever is cached
        calls = []
        for _ in range(200):
            start = time.perf_counter()
            proba(one_row)
            calls.append(time.perf_counter() - start)
        result["predict_1_ms"] = statistics.median(calls) * 1000
        result["skmlp"] = skmlp.__file__
    return result


def _run(
    case, contender, backend, epochs, data_dir, env_extra=None, code=None, fits=1
) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, **(env_extra or {})}
    if code:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(code).resolve()), *filter(None, [env.get("PYTHONPATH")])]
        )
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", case, contender, "--epochs", str(epochs),
           "--data", str(data_dir), "--fits", str(fits)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{case}/{contender} on {backend}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--backends",
        nargs="+",
        help="default: tensorflow and jax; with --gpu, jax and torch",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=["digits", "mnist", "flat", "defaults"],
        help="default: all that the other options allow",
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        help="only these (skmlp first): skmlp skmlp-keras sklearn keras scikeras limit",
    )
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="auto",
        help="skmlp's jit_compile (TensorFlow: XLA's step or the graph loop)",
    )
    parser.add_argument(
        "--code",
        nargs="+",
        help="source trees of skmlp to compare, alternating (only skmlp runs)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "engine.md")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fits",
        type=int,
        default=1,
        help="fits after the first in each process; 'second fit' is their median",
    )
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.epochs, args.data, args.fits)))
        return 0

    os.environ["BENCH_JIT_COMPILE"] = args.jit_compile  # the workers inherit it
    command = " ".join(["python benchmarks/engine.py", *(argv or sys.argv[1:])])
    lines = ["# Engine benchmark", "", f"`{command}`, medians of {args.runs} runs, "
             "each in a fresh process.", "", _versions(), ""]  # fmt: skip

    def say(line=""):
        print(line, flush=True)
        lines.append(line)

    backends = args.backends or (
        ["jax", "torch"] if args.gpu else ["tensorflow", "jax"]
    )
    if args.code:
        _compare(backends, args, say)
        backends = []
    for backend in backends:
        say(f"## Backend: {backend}")
        say()
        cases = (
            [("mnist", 10)]
            if args.gpu
            else [("digits", 10)] + ([] if args.quick else [("mnist", 5)])
        )
        cases = [c for c in cases if not args.cases or c[0] in args.cases]
        for case, epochs in cases:
            contenders = ["skmlp", "skmlp-keras"]
            if not args.gpu:
                contenders += ["sklearn"]
                if case == "mnist":
                    contenders += ["keras", "scikeras"]
            if case == "mnist":
                contenders += ["limit"]  # JAX's, whatever KERAS_BACKEND says
            if args.contenders:
                contenders = [c for c in contenders if c in args.contenders]
            results = {c: [] for c in contenders}
            warm = []
            for _ in range(args.runs):
                for contender in contenders:
                    with tempfile.TemporaryDirectory() as home:
                        env = {"SKMLP_DATA": home}  # an empty JAX compilation cache
                        if (
                            contender == "skmlp-keras"
                            and backend == "torch"
                            and args.gpu
                        ):
                            epochs_run = (
                                1  # Keras' torch fit on a GPU: seconds per epoch
                            )
                        else:
                            epochs_run = epochs
                        result = _run(
                            case, contender, backend, epochs_run, args.data, env
                        )
                        result["scale"] = epochs / epochs_run
                        results[contender].append(result)
                        if contender == "skmlp" and backend == "jax":
                            warm.append(
                                _run(case, contender, backend, epochs, args.data, env)
                            )
            say(f"### {case}: {epochs} epochs")
            say()
            say(
                "| contender | first fit s (fresh process) | second fit s (same process) "
                "| test accuracy | predict_proba 1 row ms |"
            )
            say("|---|---|---|---|---|")
            for contender, runs in results.items():
                scale = runs[0]["scale"]
                note = (
                    f" (x{scale:g}: {runs[0]['first']:.1f} s for 1 epoch)"
                    if scale != 1
                    else ""
                )
                predict = (
                    f"{_median(runs, 'predict_1_ms'):.3f}"
                    if "predict_1_ms" in runs[0]
                    else ""
                )
                say(f"| {contender} | {_median(runs, 'first') * scale:.3f}{note} | "
                    f"{_median(runs, 'second') * scale:.3f} | {_median(runs, 'accuracy'):.4f} | {predict} |")  # fmt: skip
            if warm:
                say(
                    f"| skmlp, warm compilation cache | {_median(warm, 'first'):.3f} | {_median(warm, 'second'):.3f} | | |"
                )
            say()
            ours = results["skmlp"]
            for other in contenders[1:]:
                theirs = results[other]
                scale = theirs[0]["scale"]
                say(f"- skmlp / {other}: first fit {_median(ours, 'first') / (_median(theirs, 'first') * scale):.2f}, "
                    f"second fit {_median(ours, 'second') / (_median(theirs, 'second') * scale):.2f}")  # fmt: skip
            say()
        if args.gpu:
            continue
        if not args.cases or "flat" in args.cases:
            _flat(backend, args, say)
        if not args.quick and (not args.cases or "defaults" in args.cases):
            _defaults(backend, args, say)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"written to {args.output}")
    return 0


def _spread(values, fmt):
    median = statistics.median(values)
    return f"{median:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def _compare(backends, args, say):
    """skmlp from each of ``args.code``'s trees, alternating, fresh processes."""
    keys = (("first", "first fit s", ".3f"), ("second", "second fit s", ".3f"),
            ("second_min", "fastest later fit s", ".3f"),
            ("predict_1_ms", "predict_proba 1 row ms", ".3f"))  # fmt: skip
    say(f"Trees: {', '.join(args.code)}; ranges in brackets; ratios last / first tree "
        "(medians of each tree's runs; in brackets the range of the per-run ratios).")  # fmt: skip
    say()
    for backend in backends:
        say(f"## Backend: {backend}")
        say()
        cases = [("digits", 10)] + ([] if args.quick else [("mnist", 5)])
        cases = [c for c in cases if not args.cases or c[0] in args.cases]
        for case, epochs in cases:
            runs = {code: [] for code in args.code}
            for _ in range(args.runs):
                for code in args.code:
                    with tempfile.TemporaryDirectory() as home:
                        env = {"SKMLP_DATA": home}  # an empty JAX compilation cache
                        runs[code].append(
                            _run(
                                case,
                                "skmlp",
                                backend,
                                epochs,
                                args.data,
                                env,
                                code=code,
                                fits=args.fits,
                            )  # fmt: skip
                        )
            say(f"### {case}: {epochs} epochs")
            say()
            say(
                "| tree (skmlp imported from) | "
                + " | ".join(k[1] for k in keys)
                + " | test accuracy |"
            )
            say("|---" * (len(keys) + 2) + "|")
            for code, rs in runs.items():
                where = str(Path(rs[0]["skmlp"]).parent.parent)
                say(f"| {code} ({where}) | "
                    + " | ".join(_spread([r[k] for r in rs], f) for k, _, f in keys)
                    + f" | {_median(rs, 'accuracy'):.4f} |")  # fmt: skip
            say()
            old, new = runs[args.code[0]], runs[args.code[-1]]
            for key, name, _ in keys:
                per_run = [n[key] / o[key] for o, n in zip(old, new, strict=True)]
                say(f"- {name}: {_median(new, key) / _median(old, key):.3f}x "
                    f"(per run {min(per_run):.2f}-{max(per_run):.2f})")  # fmt: skip
            say()


def _flat(backend, args, say):
    flat = _run("flat", "skmlp", backend, 2, args.data)
    say("### flat: 100 fits of a (32,) network on digits in one process")
    say()
    say(f"- resident memory: {flat['mb_per_fit']:.2f} MB per fit from fit 5 to fit 100 "
        f"({flat['rss'][4]:.0f} -> {flat['rss'][-1]:.0f} MB)")  # fmt: skip
    say(f"- time per fit: last 10 fits / fits 6-15 = {flat['time_ratio']:.2f} "
        f"({statistics.mean(flat['times'][5:15]) * 1000:.0f} ms -> {statistics.mean(flat['times'][-10:]) * 1000:.0f} ms)")  # fmt: skip
    say()


def _defaults(backend, args, say):
    say("### defaults: bare estimators on full MNIST scaled to [0, 1]")
    say()
    say("| estimator | seconds | test accuracy |")
    say("|---|---|---|")
    for contender, seeds in (("skmlp", range(3)), ("sklearn", range(1))):
        runs = [
            _run("defaults", contender, backend, 0, args.data, {"BENCH_SEED": str(s)})
            for s in seeds
        ]
        accs = ", ".join(f"{r['accuracy']:.4f}" for r in runs)
        say(f"| {contender} ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | "
            f"{_median(runs, 'seconds'):.1f} | median {_median(runs, 'accuracy'):.4f} ({accs}) |")  # fmt: skip
    say()


if __name__ == "__main__":
    sys.exit(main())
