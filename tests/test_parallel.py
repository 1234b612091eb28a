"""Grid searches on joblib's process workers and on a real Dask cluster."""

import os

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skmlp import MLPKerasClassifier

GRID = {"hidden_layer_sizes": [(16,), (32,)], "activation": ["relu", "tanh"]}


def _search(n_jobs=None):
    return GridSearchCV(
        MLPKerasClassifier(epochs=4, learning_rate=0.01, random_state=0),
        GRID,
        cv=StratifiedKFold(2),
        n_jobs=n_jobs,
        error_score="raise",
    )


@pytest.fixture(scope="module")
def local_search(digits):
    X, y = digits
    return _search().fit(X, y)


def test_grid_search_with_two_process_workers(digits, local_search):
    X, y = digits
    search = _search(n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    # joblib gives each worker one thread (OMP_NUM_THREADS=1, passed on to
    # TensorFlow), this process has two: sums are ordered differently, and a
    # few epochs of training can carry that a little way.
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        local_search.cv_results_["mean_test_score"],
        atol=0.05,
    )
    assert search.best_estimator_.score(X, y) > 0.8


def test_grid_search_on_a_dask_local_cluster(digits, local_search):
    import dask
    import distributed

    X, y = digits
    # Dask's nanny gives workers OMP_NUM_THREADS=1 by default; give them this
    # process's thread count instead, so their TensorFlow sums in the same
    # order and the results can be compared closely.
    threads = {"OMP_NUM_THREADS": str(os.cpu_count())}
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
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_backend("dask"):
            search = _search(n_jobs=-1).fit(X, y)
        worker_logs = client.run(lambda: __import__("os").getpid())
    assert len(worker_logs) == 2
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        local_search.cv_results_["mean_test_score"],
        atol=0.02,
    )
    assert search.best_params_ == local_search.best_params_


@pytest.mark.backends
@pytest.mark.only_backend("jax")
def test_a_search_with_nothing_to_batch_keeps_its_n_jobs(digits, monkeypatch, spy):
    # Networks too large to batch on a CPU: skmlp's search is scikit-learn's,
    # n_jobs included (it ran every fit in the parent process).
    from skmlp import _batch
    from skmlp.model_selection import GridSearchCV as SkmlpSearch

    X, y = digits
    monkeypatch.setattr(_batch, "CPU_BATCH_MAX_WORK", 0)  # nothing pays to batch
    served = spy(_batch, "serving")
    search = SkmlpSearch(
        MLPKerasClassifier((8,), epochs=1, random_state=0),
        {"learning_rate": [0.01, 0.02]},
        cv=2,
        n_jobs=2,
    )
    with joblib.parallel_config(backend="threading"):  # no process start-up
        search.fit(X, y)
    assert served == [] and search.n_jobs == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
