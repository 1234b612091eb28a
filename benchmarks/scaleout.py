"""Searches that scale out (issue 26): skmlp's plan against scikit-learn's loop.

    python benchmarks/scaleout.py                 # all cases, 3 runs (about 10 min, 2 cores)
    python benchmarks/scaleout.py --runs 5        # the issue's medians of 5
    python benchmarks/scaleout.py --cases large   # one case

JAX backend, digits (``load_digits``, pixels / 16), the persistent compilation
cache off, OpenBLAS on one thread in the searching process as loky and Dask
set it in their workers (``--blas-threads``: on a busy 2-core machine a
multi-threaded randomized PCA took 0.1-1 s instead of 5 ms, swamping the
ratios). Each run starts a fresh process per case, in which the case's
contenders take turns. In that process each contender runs its search once
untimed (that starts the loky workers or the Dask cluster's
workers, and compiles there: "warm workers"), then ``--timed`` more times,
timed; a figure is the median of all timed searches over the runs. The
untimed first search is reported beside it ("first", from a started
process: worker start-up and compiling), with how many processes scored
its fits (a scorer recording process ids, in that first search only) and
how many networks began training in the searching process then (counted
at ``_BaseMLP._begin_fit``: 25 for 24 fits and the refit). Every search refits its best candidate (scikit-learn's default).

Cases, ratio = contender / baseline:

- ``large``: ``MLPKerasClassifier((1024, 1024), epochs=2)``, 2 learning
  rates x ``cv=2`` (4 fits, too large to batch on a CPU): skmlp's
  ``GridSearchCV(n_jobs=2)`` against scikit-learn's ``GridSearchCV(n_jobs=2)``
  over the same estimator (target at most 1.1x).
- ``small``: ``MLPKerasClassifier((16,), epochs=10)``, 8 learning rates x
  ``cv=3`` (24 fits, batched): skmlp ``n_jobs=2`` against scikit-learn's
  ``n_jobs=2`` (target at most 1.1x) and against skmlp ``n_jobs=1``
  (at most 1.05x); skmlp on a two-worker ``distributed.LocalCluster``
  (``joblib.parallel_config(backend="dask")``, ``n_jobs=-1``) against the
  local batched search (``n_jobs=None``, the same as 1; at most 1.2x).
- ``pca``: the small grid over ``make_pipeline(PCA(20,
  svd_solver="randomized"), MLPKerasClassifier((16,), epochs=10))``, skmlp's
  ``GridSearchCV`` (``n_jobs=None``) with an unseeded PCA against the same
  with ``random_state=0`` (at most 1.1x).

Not in the default run, for a machine with several GPUs:

- ``devices`` (``--cases devices``): MNIST (``--devices-data DIR``;
  ``--devices-data digits`` for a smoke test), ``MLPKerasClassifier(epochs=5)``, 4 layer sizes
  x 2 learning rates x ``cv=3`` (4 groups), ``n_jobs=None``: every device
  JAX sees (groups placed on them in turn) against one device
  (``CUDA_VISIBLE_DEVICES=0``; ``XLA_FLAGS``' forced host devices dropped),
  each contender its own fresh process (target at most 0.6x). On a CPU,
  ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` tests the
  placement, not speed (the forced devices share the cores).

Writes the Markdown table to ``benchmarks/results/scaleout.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# case: its contenders, the baseline first, and the ratios it reports
# (contender, baseline, target, what).
CASES = {
    "large": ["sklearn-n2", "skmlp-n2"],
    "small": ["skmlp-n1", "skmlp-n2", "sklearn-n2", "skmlp-dask"],
    "pca": ["pca-seeded", "pca-unseeded"],
    "devices": ["one-device", "all-devices"],  # each in its own process
}
DEFAULT_CASES = ["large", "small", "pca"]
RATIOS = [
    ("large", "skmlp-n2", "sklearn-n2", 1.1,
     "(1024, 1024), 4 fits (unbatched): skmlp `n_jobs=2` / scikit-learn `n_jobs=2`"),
    ("small", "skmlp-n2", "sklearn-n2", 1.1,
     "(16,), 24 fits (batched): skmlp `n_jobs=2` / scikit-learn `n_jobs=2`"),
    ("small", "skmlp-n2", "skmlp-n1", 1.05,
     "(16,), 24 fits: skmlp batched `n_jobs=2` / batched `n_jobs=1`"),
    ("pca", "pca-unseeded", "pca-seeded", 1.1,
     "PCA(20, randomized) + (16,), 24 fits: unseeded PCA / `random_state=0`"),
    ("small", "skmlp-dask", "skmlp-n1", 1.2,
     "(16,), 24 fits: two-worker Dask LocalCluster `n_jobs=-1` / local `n_jobs=None`"),
    ("devices", "all-devices", "one-device", 0.6,
     "MNIST, 4 groups x 6 fits: every device / one device"),
]  # fmt: skip
LEARNING_RATES = [1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 3e-2, 5e-2]


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype("float32"), y


def _pid_accuracy(estimator, X, y, *, pids):
    """Accuracy, noting the process that scored (a file in ``pids`` named by its id)."""
    from sklearn.metrics import accuracy_score

    Path(pids, str(os.getpid())).touch()
    return accuracy_score(y, estimator.predict(X))


def _mnist(data_dir):
    from skmlp.datasets import load_mnist, to_features

    (X, y), _ = load_mnist(data_dir)
    return to_features(X), y.astype("int64")


def _search(case: str, contender: str, scoring=None):
    """The search object of ``contender`` (unfitted)."""
    from sklearn import model_selection as sk
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from skmlp import MLPKerasClassifier
    from skmlp import model_selection as ours

    n_jobs = {"n1": None, "n2": 2, "dask": -1}.get(contender.split("-")[-1])
    search = sk.GridSearchCV if contender.startswith("sklearn") else ours.GridSearchCV
    if case == "devices":
        net = MLPKerasClassifier(epochs=5, random_state=0)
        grid = {
            "hidden_layer_sizes": [(128,), (256,), (128, 128), (256, 256)],
            "learning_rate": [1e-3, 3e-3],
        }
        return search(net, grid, cv=3, scoring=scoring)
    if case == "large":
        net = MLPKerasClassifier((1024, 1024), epochs=2, random_state=0)
        grid, cv = {"learning_rate": [1e-3, 3e-3]}, 2
    else:
        net = MLPKerasClassifier((16,), epochs=10, random_state=0)
        grid, cv = {"learning_rate": LEARNING_RATES}, 3
    if case == "pca":
        seed = 0 if contender == "pca-seeded" else None
        net = make_pipeline(PCA(20, svd_solver="randomized", random_state=seed), net)
        grid = {"mlpkerasclassifier__" + k: v for k, v in grid.items()}
    return search(net, grid, cv=cv, n_jobs=n_jobs, scoring=scoring)


def worker(case: str, timed: int, contenders=None, data=None) -> dict:
    """One fresh process: ``case``'s contenders warmed, then timed in turn."""
    import warnings

    import joblib

    from skmlp._base import _BaseMLP  # (imports are not timed)

    warnings.simplefilter("ignore")
    X, y = _digits() if data in (None, "digits") else _mnist(data)
    begun = []  # networks whose training began in this process
    begin_fit = _BaseMLP._begin_fit

    def counting(self, *args, **kwargs):
        begun.append(1)
        return begin_fit(self, *args, **kwargs)

    _BaseMLP._begin_fit = counting
    contenders = contenders or CASES[case]
    contexts = dict.fromkeys(contenders, contextlib.nullcontext)
    cluster = client = None
    if "skmlp-dask" in contenders:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        contexts["skmlp-dask"] = lambda: joblib.parallel_config(backend="dask")
    results = {}
    for contender in contenders:  # warm-up: workers started, programs compiled
        pids = tempfile.mkdtemp(prefix="scaleout-pids-")
        scoring = functools.partial(_pid_accuracy, pids=pids)
        gc.collect()
        begun.clear()
        start = time.perf_counter()
        with contexts[contender]():
            search = _search(case, contender, scoring).fit(X, y)
        results[contender] = {
            "first": time.perf_counter() - start,
            "times": [],
            "best": search.best_score_,
            "trained_here": len(begun),
            "devices": _devices(),
        }
        results[contender]["processes"] = len(os.listdir(pids))
    for _ in range(timed):
        for contender in contenders:
            gc.collect()  # not the previous run's garbage
            start = time.perf_counter()
            with contexts[contender]():
                _search(case, contender).fit(X, y)
            results[contender]["times"].append(time.perf_counter() - start)
    if client is not None:
        client.close()
        cluster.close()
    return results


def _devices() -> int:
    import jax

    return len(jax.devices())


def _run(case, timed, blas_threads, data) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax", "SKMLP_JAX_CACHE": "0"}
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(blas_threads)
    cmd = [sys.executable, __file__, "--worker", case, "--timed", str(timed)]
    if case != "devices":
        return _subprocess(cmd, env, case)
    results = {}
    for contender in CASES[case]:  # each in its own process: what JAX sees
        own = dict(env)
        if contender == "one-device":
            own["CUDA_VISIBLE_DEVICES"] = "0"
            flags = own.get("XLA_FLAGS", "").split()
            own["XLA_FLAGS"] = " ".join(
                f for f in flags if "force_host_platform_device_count" not in f
            )
        extra = ["--contender", contender, "--devices-data", data]
        results.update(_subprocess(cmd + extra, own, f"{case}/{contender}"))
    return results


def _subprocess(cmd, env, what) -> dict:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _versions() -> str:
    import importlib.metadata as md

    names = ["keras", "jax", "scikit-learn", "joblib", "distributed"]
    return ", ".join(f"{n} {md.version(n)}" for n in names)


def _warm(runs) -> float:
    return statistics.median(t for r in runs for t in r["times"])


def _table(results, command: str, note: str) -> str:
    lines = [
        "# Searches that scale out (issue 26)",
        "",
        f"`{command}` ({_versions()}; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores). {note}".rstrip(),
        "",
        "JAX backend, digits, persistent compilation cache off, OpenBLAS on one "
        "thread in the searching process (as loky and Dask set it in their "
        "workers; `--blas-threads`); each run a fresh "
        "process per case, its contenders warmed in turn, then timed in turn. "
        "Warm: median of every timed search over the runs; first: the untimed "
        "first search (median over the runs; the case's first contender starts "
        "the loky workers); processes: how many scored the first search's fits; "
        "trained here: networks whose training began in the searching process "
        "in that search (24 fits and the refit: 25 where nothing is trained "
        "twice).",
        "",
        "| case | contender | warm s | first s | processes | trained here "
        "| best score |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, contenders in results.items():
        for name, runs in contenders.items():
            first = statistics.median(r["first"] for r in runs)
            procs = "/".join(map(str, sorted({r["processes"] for r in runs})))
            here = "/".join(map(str, sorted({r["trained_here"] for r in runs})))
            best = statistics.median(r["best"] for r in runs)
            if case == "devices":
                name += f" ({runs[0]['devices']} devices)"
            lines.append(
                f"| {case} | {name} | {_warm(runs):.2f} | {first:.2f} | {procs} | "
                f"{here} | {best:.3f} |"
            )
    lines += ["", "| ratio of warm medians | value | target | met |"]
    lines.append("|---|---|---|---|")
    for case, contender, baseline, target, what in RATIOS:
        if case in results:
            ratio = _warm(results[case][contender]) / _warm(results[case][baseline])
            met = "yes" if ratio <= target else "no"
            lines.append(f"| {what} | {ratio:.2f}x | at most {target}x | {met} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per case")
    parser.add_argument("--timed", type=int, default=2, help="timed searches each")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=None)
    parser.add_argument("--out", default=str(HERE / "results" / "scaleout.md"))
    parser.add_argument("--note", default="", help="a sentence for the table")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OpenBLAS threads in the searching process (0: the library's default)",
    )
    parser.add_argument("--worker")
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument(
        "--devices-data",
        default=os.environ.get(
            "SKMLP_TEST_MNIST", str(HERE.parent.parent / "shared/data/mnist")
        ),
        help="devices: the MNIST folder, or 'digits'",
    )
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.worker:
        contenders = [args.contender] if args.contender else None
        data = args.devices_data if args.worker == "devices" else None
        print(json.dumps(worker(args.worker, args.timed, contenders, data)))
        return 0
    cases = args.cases or DEFAULT_CASES
    results = {case: {c: [] for c in CASES[case]} for case in cases}
    start = time.perf_counter()
    for run in range(args.runs):
        for case in cases:
            outcome = _run(case, args.timed, args.blas_threads, args.devices_data)
            for contender, result in outcome.items():
                results[case][contender].append(result)
                print(f"run {run + 1} {case}/{contender}: {json.dumps(result)}",
                      flush=True)  # fmt: skip
    command = f"python benchmarks/scaleout.py --runs {args.runs} --timed {args.timed}"
    if args.blas_threads != 1:
        command += f" --blas-threads {args.blas_threads}"
    if args.cases:
        command += " --cases " + " ".join(args.cases)
    table = _table(results, command, args.note)
    print(table)
    print(f"({time.perf_counter() - start:.0f} s in all)")
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
