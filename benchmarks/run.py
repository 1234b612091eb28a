"""skmlp against the alternatives, side by side, in one run on the same data.

    python benchmarks/run.py --quick            # under two minutes
    python benchmarks/run.py                    # full MNIST, 5 epochs, 3 runs each

Contenders, all training the labs' network (784-128-128-10 ReLU, SGD lr 0.1,
batch 128) on the same rows of MNIST:

- ``skmlp``: ``MLPKerasClassifier`` with its defaults for speed;
- ``scikeras``: scikeras' ``KerasClassifier`` around the same Keras model;
- ``keras``: plain ``model.fit`` with Keras' defaults, as the labs write it;
- ``keras-tuned``: plain ``model.fit`` hand-tuned (``steps_per_execution=32``);
- ``sklearn``: scikit-learn's ``MLPClassifier`` with the same layers and SGD.

Fit time is everything a user waits for: building, compiling and training
the model (so one-time compilation counts, as it does in a notebook). Every
run is a fresh process (so peak memory is its own), runs are
interleaved across contenders (so a busy spell of a shared machine hits all
of them), and the table reports medians. Keras contenders hold out the last
20% of the training rows for validation each epoch, as the labs do; the
scikit-learn MLP, which cannot, trains on the same 80%.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# benchmarks/ is on sys.path: it is the folder of the script being run.
from _common import add_data_argument

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("skmlp", "scikeras", "keras", "keras-tuned", "sklearn")
LR, BATCH, VALIDATION = 0.1, 128, 0.2


def _data(data_dir: Path, n_train: int | None):
    from skmlp.datasets import load_mnist, to_features

    (X_train, y_train), (X_test, y_test) = load_mnist(data_dir)
    X_train, X_test = to_features(X_train), to_features(X_test)
    if n_train:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train.astype("int64"), X_test, y_test.astype("int64")


def _keras_model():
    import keras

    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    return model


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(contender: str, data_dir: Path, epochs: int, n_train: int | None) -> dict:
    """One fit and the predictions of one contender; runs in its own process."""
    import numpy as np

    # Load Keras and TensorFlow before any timing: on the JAX backend Keras
    # loads TensorFlow lazily (for its data pipeline) inside the first fit.
    import skmlp._keras  # noqa: F401

    X_train, y_train, X_test, y_test = _data(data_dir, n_train)
    if contender == "skmlp":
        from skmlp import MLPKerasClassifier

        est = MLPKerasClassifier(
            (128, 128), optimizer="sgd", learning_rate=LR, batch_size=BATCH, epochs=epochs,
            validation_split=VALIDATION, random_state=0,
        )  # fmt: skip
        start = time.perf_counter()
        est.fit(X_train, y_train)
        fit = time.perf_counter() - start
        proba = est.predict_proba
    elif contender == "scikeras":
        import keras
        from scikeras.wrappers import KerasClassifier

        keras.utils.set_random_seed(0)
        est = KerasClassifier(
            _keras_model, loss="sparse_categorical_crossentropy", optimizer="sgd", optimizer__learning_rate=LR,
            batch_size=BATCH, epochs=epochs, validation_split=VALIDATION, verbose=0, metrics=["accuracy"],
        )  # fmt: skip
        start = time.perf_counter()
        est.fit(X_train, y_train)
        fit = time.perf_counter() - start
        proba = est.predict_proba
    elif contender in ("keras", "keras-tuned"):
        import keras

        # Building and compiling the model is part of what a user waits for
        # (and part of every other contender's fit), so it is timed too.
        start = time.perf_counter()
        keras.utils.set_random_seed(0)
        model = _keras_model()
        tuned = {"steps_per_execution": 32} if contender == "keras-tuned" else {}
        model.compile(
            keras.optimizers.SGD(LR),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
            **tuned,
        )
        model.fit(
            X_train,
            y_train,
            batch_size=BATCH,
            epochs=epochs,
            validation_split=VALIDATION,
            verbose=0,
        )
        fit = time.perf_counter() - start

        def proba(X):
            return model.predict(X, verbose=0)

    elif contender == "sklearn":
        from sklearn.neural_network import MLPClassifier

        n_fit = int(len(X_train) * (1 - VALIDATION))
        est = MLPClassifier(
            (128, 128), solver="sgd", learning_rate_init=LR, batch_size=BATCH, momentum=0.0,
            nesterovs_momentum=False, max_iter=epochs, n_iter_no_change=epochs + 1, tol=0.0, alpha=0.0,
            random_state=0,
        )  # fmt: skip
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "did not converge": we ask for few epochs
            start = time.perf_counter()
            est.fit(X_train[:n_fit], y_train[:n_fit])
            fit = time.perf_counter() - start
        proba = est.predict_proba
    else:
        raise SystemExit(f"unknown contender {contender}")
    one_row = X_test[:1]
    proba(one_row)  # first call builds whatever is cached
    predict_1 = _time(lambda: proba(one_row), 50)
    predict_10k = _time(lambda: proba(X_test), 5)
    accuracy = float(np.mean(np.argmax(proba(X_test), axis=1) == y_test))
    return {
        "contender": contender,
        "fit_per_epoch_s": fit / epochs,
        "predict_1_ms": predict_1 * 1000,
        "predict_10k_ms": predict_10k * 1000,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "accuracy": accuracy,
    }


def memory_worker(cycles: int) -> dict:
    """RSS after each of ``cycles`` fit/predict cycles of a small network."""
    import numpy as np
    import psutil
    from sklearn.datasets import load_digits

    from skmlp import MLPKerasClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    rss = []
    for i in range(cycles):
        MLPKerasClassifier((32,), epochs=2, random_state=i).fit(X, y).predict_proba(
            X[:10]
        )
        rss.append(psutil.Process().memory_info().rss / 2**20)
    return {"rss_mb": rss, "growth_5_to_last_mb": float(np.round(rss[-1] - rss[4], 1))}


def _run(args: list[str], backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args} on {backend} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _machine() -> dict:
    import numpy
    import sklearn

    from skmlp._keras import keras  # quietly

    cpu = ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {"python": platform.python_version(), "numpy": numpy.__version__, "scikit-learn": sklearn.__version__,
                "keras": keras.__version__}  # fmt: skip
    for name in ("tensorflow", "jax", "scikeras", "skmlp"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - not installed is fine here
            versions[name] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": platform.platform(),
        "versions": versions,
    }


def _table(results: dict, backend: str) -> list[str]:
    rows = []
    for contender, runs in results.items():
        rows.append(
            {
                key: statistics.median(run[key] for run in runs)
                for key in runs[0]
                if key != "contender"
            }
            | {"contender": contender}
        )
    lines = [
        f"### Backend: {backend}",
        "",
        "| contender | fit s/epoch | predict_proba 1 row ms | predict_proba 10,000 rows ms | peak MB | test accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['contender']} | {r['fit_per_epoch_s']:.3f} | {r['predict_1_ms']:.2f} | {r['predict_10k_ms']:.1f} | "
            f"{r['peak_mb']:.0f} | {r['accuracy']:.4f} |"
        )
    skmlp = next(r for r in rows if r["contender"] == "skmlp")
    lines += ["", "Ratios skmlp / contender (below 1: skmlp is faster or smaller; accuracy: difference in points):", "",
              "| versus | fit time | predict 1 row | predict 10,000 rows | peak memory | accuracy difference |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        if r is skmlp:
            continue
        lines.append(
            f"| {r['contender']} | {skmlp['fit_per_epoch_s'] / r['fit_per_epoch_s']:.2f} | "
            f"{skmlp['predict_1_ms'] / r['predict_1_ms']:.2f} | {skmlp['predict_10k_ms'] / r['predict_10k_ms']:.2f} | "
            f"{skmlp['peak_mb'] / r['peak_mb']:.2f} | {100 * (skmlp['accuracy'] - r['accuracy']):+.2f} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser, type=Path)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 training rows, 2 epochs, 1 run, TensorFlow only",
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per contender (medians are reported)"
    )
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument(
        "--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS
    )
    parser.add_argument("--memory-cycles", type=int, default=30)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "latest.md"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.epochs, args.n_train)))
        return 0
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_cycles)))
        return 0
    if args.quick:
        args.epochs, args.runs, args.n_train, args.memory_cycles = 2, 1, 10000, 10
        args.backends = ["tensorflow"]

    lines = [
        "# Benchmark results",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}`: {args.epochs} epochs, "
        f"{'10,000' if args.n_train else 'all 60,000'} training rows (last 20% for validation), "
        f"median of {args.runs} run(s) per contender, each in its own process.",
        "",
    ]
    machine = _machine()
    lines += [f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['system']}.", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + ".", ""]  # fmt: skip
    for backend in args.backends:
        results: dict[str, list] = {c: [] for c in args.contenders}
        for run in range(args.runs):
            for contender in args.contenders:
                extra = ["--n-train", str(args.n_train)] if args.n_train else []
                result = _run(
                    [
                        "--worker",
                        contender,
                        "--data",
                        str(args.data),
                        "--epochs",
                        str(args.epochs),
                        *extra,
                    ],
                    backend,
                )
                results[contender].append(result)
                print(f"[{backend} run {run + 1}] {contender}: {result['fit_per_epoch_s']:.3f} s/epoch, "
                      f"1 row {result['predict_1_ms']:.2f} ms, accuracy {result['accuracy']:.4f}", flush=True)  # fmt: skip
        lines += _table(results, backend) + [""]
        memory = _run(
            ["--memory-worker", "--memory-cycles", str(args.memory_cycles)], backend
        )
        lines += [
            f"Memory, {args.memory_cycles} fit/predict cycles of a small network in one process ({backend}): "
            f"resident memory grew by {memory['growth_5_to_last_mb']} MB from the 5th cycle to the last "
            f"(RSS {memory['rss_mb'][4]:.0f} MB -> {memory['rss_mb'][-1]:.0f} MB).",
            "",
        ]
    text = "\n".join(lines)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
