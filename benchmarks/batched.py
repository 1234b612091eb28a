"""Many networks at once: batched searches and ensembles against one-by-one fits.

    python benchmarks/batched.py --quick      # CPU: digits grid and calibration
    python benchmarks/batched.py              # + the MNIST search and vote
    python benchmarks/batched.py --gpu        # on a GPU machine (JAX)

Every figure is a median over fresh processes (JAX backend, the persistent
compilation cache off, so a "fresh" figure includes all compiling), with the
contenders interleaved. Before each timed run the previous run's garbage is
collected (otherwise a second run may pay the first one's collection, about
0.15 s for the digits grid). Cases:

- ``search``: the issue's grid, ``GridSearchCV(MLPKerasClassifier(epochs=5),
  {learning_rate: [1e-3, 3e-3], hidden_layer_sizes: [(128,), (256, 256)],
  dropout: [0, 0.2]}, cv=3)`` on full MNIST (24 fits and a refit): skmlp's
  ``GridSearchCV`` (batched) against scikit-learn's over the same estimator
  (one fit at a time on the compiled engine); fresh process and again.
- ``digits``: a 24-fit grid (8 candidates x 3 folds, 10 epochs) on digits:
  batched, one by one on the engine, and scikit-learn's ``MLPClassifier``.
- ``vote``: the labs' ensemble (E7: three 4x50 sigmoid networks, SGD,
  batch 32, raw pixels, full MNIST), 2 epochs (``--vote-epochs``): skmlp's
  ``VotingClassifier`` against scikit-learn's and one network alone.
- ``calibrate`` (CPU): 8 networks of one size trained together against the
  same 8 one after another, for several step sizes; sets
  ``skmlp._batch.CPU_BATCH_MAX_WORK``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# benchmarks/ is on sys.path: it is the folder of the script being run.
from _common import add_data_argument, apply_xla_options

HERE = Path(__file__).resolve().parent


def _data(name, data_dir):
    import numpy as np

    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16).astype("float32"), y
    from skmlp.datasets import load_mnist, to_features

    (X, y), _ = load_mnist(data_dir)
    X, y = to_features(X), y.astype("int64")
    if name == "mnist10k":
        return X[:10000], y[:10000]
    return np.ascontiguousarray(X), y


def _mnist_arrays(data_dir):
    from skmlp.datasets import load_mnist

    return load_mnist(data_dir)


def worker(case: str, contender: str, data_dir: str, arg: str) -> dict:
    import warnings

    from sklearn import model_selection as sk

    import skmlp._keras  # noqa: F401  (imports are not timed)

    apply_xla_options()
    from skmlp import MLPKerasClassifier, ensemble, model_selection

    warnings.simplefilter("ignore")
    times = []
    if case in ("search", "digits"):
        X, y = _data("mnist" if case == "search" else "digits", data_dir)
        if case == "search":
            estimator = MLPKerasClassifier(epochs=5, random_state=0)
            grid = {
                "learning_rate": [1e-3, 3e-3],
                "hidden_layer_sizes": [(128,), (256, 256)],
                "dropout": [0.0, 0.2],
            }
        elif contender == "sklearn":
            from sklearn.neural_network import MLPClassifier

            estimator = MLPClassifier(max_iter=10, random_state=0, batch_size=128)
            grid = {
                "learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2],
                "hidden_layer_sizes": [(32,), (64, 64)],
            }
        else:
            estimator = MLPKerasClassifier(epochs=10, random_state=0, dropout=0.0)
            grid = {
                "learning_rate": [1e-3, 3e-3, 1e-2, 3e-2],
                "hidden_layer_sizes": [(32,), (64, 64)],
            }
        search = (
            model_selection.GridSearchCV if contender == "batched" else sk.GridSearchCV
        )
        for _ in range(2):
            gc.collect()  # not the previous run's garbage: see the docstring
            start = time.perf_counter()
            result = search(estimator, grid, cv=3).fit(X, y)
            times.append(time.perf_counter() - start)
        return {"fresh": times[0], "again": times[1], "best": result.best_score_}
    if case == "vote":
        from sklearn.ensemble import VotingClassifier

        from skmlp import labs

        e7 = labs.get_experiment("E7")
        X, y, _, _ = labs.prepare_data(e7, _mnist_arrays(data_dir))
        epochs = int(arg or 2)
        members = labs.make_estimator(e7, epochs=epochs).estimators
        for _ in range(2):
            gc.collect()  # not the previous run's garbage: see the docstring
            start = time.perf_counter()
            if contender == "one":
                members[0][1].fit(X, y)
            else:
                vote = (
                    ensemble.VotingClassifier
                    if contender == "batched"
                    else VotingClassifier
                )
                vote(members, voting="soft").fit(X, y)
            times.append(time.perf_counter() - start)
        return {"fresh": times[0], "again": times[1]}
    if case == "calibrate":
        from sklearn.base import clone

        from skmlp import _batch
        from skmlp._engine import _many

        _batch.CPU_BATCH_MAX_WORK = float("inf")  # measure both ways
        data, hidden = arg.split(":")
        X, y = _data(data, data_dir)
        hidden = tuple(int(h) for h in hidden.split("-"))
        base = MLPKerasClassifier(hidden, epochs=3, dropout=0.0)
        nets = [clone(base).set_params(random_state=i) for i in range(8)]
        batched = []  # how many networks each train_many call trained
        train_many = _many.train_many

        def counting(models, *args, **kwargs):
            batched.append(len(models))
            return train_many(models, *args, **kwargs)

        _many.train_many = counting
        for _ in range(2):
            gc.collect()  # not the previous run's garbage: see the docstring
            start = time.perf_counter()
            if contender == "batched":
                batched.clear()
                trained = _batch.train_members(
                    [_batch.Member(clone(n), X, y, None, data_id=0) for n in nets]
                )
                failed = [f for f, _ in trained if isinstance(f, BaseException)]
                assert not failed, failed
                assert batched == [8], f"not batched ({batched}): CPU_BATCH_MAX_WORK"
            else:
                for net in nets:
                    clone(net).fit(X, y)
            times.append(time.perf_counter() - start)
        return {"fresh": times[0], "again": times[1]}
    raise SystemExit(f"unknown case {case}")


def _run(case, contender, data_dir, arg="") -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax", "SKMLP_JAX_CACHE": "0"}
    cmd = [sys.executable, __file__, "--worker", case, contender, "--data",
           str(data_dir), "--arg", arg]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{case}/{contender}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _compare(case, contenders, data_dir, repeats, arg=""):
    runs = {c: [] for c in contenders}
    for _ in range(repeats):
        for contender in contenders:
            runs[contender].append(_run(case, contender, data_dir, arg))
    return {
        c: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        for c, rs in runs.items()
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=2)
    parser.add_argument("--arg", default="")
    parser.add_argument("--out", default=None)
    parser.add_argument("--cases", nargs="+", help="run only these cases")
    parser.add_argument("--vote-epochs", type=int, default=2)
    parser.add_argument(
        "--shapes",
        nargs="+",
        default=["digits:32", "digits:256-256", "mnist10k:64", "mnist10k:128-128",
                 "mnist10k:256-256", "mnist10k:512-512", "mnist10k:1024-1024"],
        help="calibrate: DATA:LAYERS",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.data, args.arg)))
        return 0
    results = {}
    sections = ["digits"] + ([] if args.quick else ["search", "vote"])
    if not args.gpu:
        sections.append("calibrate")
    if args.cases:
        sections = args.cases
    for case in sections:
        if case == "digits":
            results[case] = _compare(
                case, ["batched", "one-by-one", "sklearn"], args.data, args.repeats
            )
        elif case == "search":
            results[case] = _compare(
                case, ["batched", "one-by-one"], args.data, args.repeats
            )
        elif case == "vote":
            results[case] = _compare(
                case, ["batched", "one-by-one", "one"], args.data, args.repeats,
                str(args.vote_epochs),
            )  # fmt: skip
        else:
            results[case] = {
                shape: _compare(
                    case, ["batched", "one-by-one"], args.data, args.repeats, shape
                )
                for shape in args.shapes
            }
        print(json.dumps({case: results[case]}, indent=1), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
