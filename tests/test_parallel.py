"""Searches on joblib's process workers, on a real Dask cluster, on several devices.

A scorer that leaves a file named after the network's depth and the process
it ran in shows where each (candidate, split) fit was trained and scored:
skmlp's plan scores a fit in the task that trained it.
"""

import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import joblib
import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from skmlp import MLPKerasClassifier
from skmlp.model_selection import GridSearchCV

# (8,): batched on JAX (8 fits: two tasks of four for two workers);
# (16, 16): "too large to gain from batching" (``too_large_to_batch``), each
# fit a task of its own, as scikit-learn's loop runs it.
GRID = [
    {"hidden_layer_sizes": [(8,)], "learning_rate": [0.01, 0.02, 0.03, 0.04]},
    {"hidden_layer_sizes": [(16, 16)], "learning_rate": [0.01]},
]


@pytest.fixture(autouse=True)
def too_large_to_batch(monkeypatch):
    """(16, 16) networks on digits count as too large to batch (this process
    decides which fits batch: 32 x (64 x 8 + 8 x 10) = 18,944 multiply-adds
    per step stay under the limit, 32 x (64 x 16 + 16 x 16 + 16 x 10) do not)."""
    from skmlp import _batch

    monkeypatch.setattr(_batch, "CPU_BATCH_MAX_WORK", 20_000)


def recording_scorer(folder, processes=1):
    """Accuracy; and a file "<depth>-<pid>-<unique>" in ``folder`` per call.

    With ``processes`` > 1, a call then waits (a minute at most) until that
    many processes have scored networks of its depth: a worker that scores
    first holds its task, so that the next task goes to another worker
    however the machine's load delays that one's start.
    """

    def score(estimator, X, y):
        import time

        depth = len(estimator.hidden_layer_sizes)
        name = f"{depth}-{os.getpid()}-{uuid.uuid4().hex}"
        (pathlib.Path(folder) / name).touch()
        deadline = time.monotonic() + 60
        while len(where(folder).get(depth, ())) < processes:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return float(np.mean(estimator.predict(X) == y))

    return score


def where(folder) -> dict[int, set[int]]:
    """Depth -> the processes that scored (so trained) its fits."""
    found: dict[int, set[int]] = {}
    for path in pathlib.Path(folder).iterdir():
        depth, pid, _ = path.name.split("-")
        found.setdefault(int(depth), set()).add(int(pid))
    return found


def _search(folder, n_jobs=None):
    pathlib.Path(folder).mkdir(exist_ok=True)
    return GridSearchCV(
        MLPKerasClassifier(epochs=1, batch_size=32, random_state=0),
        GRID,
        cv=StratifiedKFold(2),
        scoring=recording_scorer(folder, processes=1 if n_jobs is None else 2),
        n_jobs=n_jobs,
        refit=False,
        error_score="raise",
    )


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:360], y[:360]


@pytest.fixture(scope="module")
def local_search(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    search = _search(folder).fit(*data)
    assert where(folder) == {1: {os.getpid()}, 2: {os.getpid()}}
    return search


@pytest.mark.backends
@pytest.mark.only_backend("tensorflow", "jax")
def test_n_jobs_spreads_fits_over_process_workers(data, local_search, tmp_path):
    # Batched groups (JAX) and fits that train alone alike: every fit in a
    # worker process, both workers used, results as in one process.
    ready = tmp_path / "ready"
    ready.mkdir()

    def started():
        # Both workers started and skmlp imported before the search: the
        # search's first two tasks then go to two idle workers.
        import time

        import skmlp.estimators  # noqa: F401

        (ready / str(os.getpid())).touch()
        deadline = time.monotonic() + 120
        while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        return os.getpid()

    assert len(set(joblib.Parallel(n_jobs=2)([joblib.delayed(started)()] * 2))) == 2
    search = _search(tmp_path / "fits", n_jobs=2).fit(*data)
    found = where(tmp_path / "fits")
    for depth in (1, 2):
        assert len(found[depth]) == 2 and os.getpid() not in found[depth]
    # Workers compute with one thread each, this process with two: sums are
    # ordered differently, which one epoch carries a little way.
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        local_search.cv_results_["mean_test_score"],
        atol=0.05,
    )


@pytest.mark.backends
@pytest.mark.only_backend("jax")
def test_a_search_on_a_dask_local_cluster(data, local_search, tmp_path):
    import dask
    import distributed

    # Dask's nanny gives workers OMP_NUM_THREADS=1 by default; give them this
    # process's thread count, so that they sum in the same order as it does.
    threads = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": threads}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(lambda: __import__("skmlp.estimators"))  # both workers ready
        with joblib.parallel_config(backend="dask"):
            search = _search(tmp_path, n_jobs=-1).fit(*data)
        workers = set(client.run(os.getpid).values())
    assert len(workers) == 2
    found = where(tmp_path)
    assert found[1] == workers  # the batched groups trained on both workers
    assert found[2] <= workers and found[2]
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        local_search.cv_results_["mean_test_score"],
        atol=0.02,
    )


TWO_DEVICES = textwrap.dedent(
    """
    import contextlib, io
    import numpy as np
    from sklearn.datasets import load_digits
    from skmlp import MLPKerasClassifier
    from skmlp.model_selection import GridSearchCV
    import jax

    assert len(jax.devices()) == 2, jax.devices()
    X, y = load_digits(return_X_y=True)
    X, y = X[:360] / 16.0, y[:360]
    grid = {"hidden_layer_sizes": [(16,), (8, 8)], "learning_rate": [0.01, 0.02]}

    out = io.StringIO()
    model = MLPKerasClassifier(epochs=1, batch_size=32, random_state=0)
    search = GridSearchCV(model, grid, cv=2, refit=False, verbose=1)
    with contextlib.redirect_stdout(out):
        search.fit(X, y)
    printed = out.getvalue()
    print(printed)
    assert "together on cpu:0" in printed and "together on cpu:1" in printed
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    print("OK")
    """
)


def test_groups_are_placed_on_every_device():
    # Two CPU devices stand in for two GPUs (they share these cores: this
    # tests placement, not speed). Two groups of four fits: one per device.
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    result = subprocess.run(
        [sys.executable, "-c", TWO_DEVICES],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


def test_groups_are_split_for_the_workers_joblib_will_use():
    # n_jobs=None inside joblib.parallel_config (or a Dask backend) still
    # means several workers: the largest group is halved for them, keeping
    # at least four networks a half on a CPU.
    from skmlp import _evaluation

    group = list(range(24))
    assert [len(t) for t in _evaluation._split_groups([group], None, 1)] == [24]
    with joblib.parallel_config(n_jobs=2):
        halves = _evaluation._split_groups([group], None, 1)
    assert sorted(map(len, halves)) == [12, 12]
    assert sorted(sum(halves, [])) == group
    quarters = _evaluation._split_groups([list(range(12))], 8, 1)
    assert sorted(map(len, quarters)) == [6, 6]  # not below four a task
