import os
from pathlib import Path

# scikit-learn's array-API input check runs only with SciPy's array API support
# on, which must be set before SciPy loads; without it the check is skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# The suite's two workers share two cores (CI's machine too): one thread each
# for TensorFlow, oneDNN/OpenMP and the processes the tests start, so that
# thread pools do not spin against each other. Set before TensorFlow loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

import skmlp._keras  # noqa: F401  (first, so TensorFlow starts quietly as users see it)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, scaled to [0, 1] as the labs scale MNIST."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


MNIST_DIR = Path(os.environ.get("SKMLP_TEST_MNIST", ROOT.parent / "shared/data/mnist"))
HAVE_MNIST = (MNIST_DIR / "train-images-idx3-ubyte.gz").exists()


@pytest.fixture
def spy(monkeypatch):
    """``spy(module, name)``: that function keeps working, and the returned
    list collects what each call of it returned."""

    def install(module, name):
        results = []
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            results.append(original(*args, **kwargs))
            return results[-1]

        monkeypatch.setattr(module, name, wrapper)
        return results

    return install


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached MNIST and no reachable mirror: what a machine offline sees."""
    monkeypatch.setenv("SKMLP_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("SKMLP_MNIST_MIRRORS", "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST IDX files (../shared/data/mnist or $SKMLP_TEST_MNIST)."""
    return MNIST_DIR


def pytest_collection_modifyitems(config, items):
    """Leave out the tests that cannot run here, as deselected (not skipped).

    Without the real MNIST files, the tests that need them (the summary says
    so in one line; everything else runs on generated data and the bundled
    sample). Tests marked ``only_backend(name, ...)`` run only where Keras'
    backend is one of those named (``test_other_backends`` runs them there).
    Then the longest tests go first (``LONGEST_FIRST``).
    """
    backend = keras.backend.backend()
    other = [
        item
        for item in items
        if (mark := item.get_closest_marker("only_backend")) is not None
        and backend not in mark.args
    ]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item not in other]
    if not HAVE_MNIST:
        needs = [item for item in items if "mnist_dir" in item.fixturenames]
        if needs:
            config.hook.pytest_deselected(items=needs)
            items[:] = [item for item in items if item not in needs]
    items[:] = sorted(items, key=_start_rank)


# The suite's longest tests (each a run in processes of its own), in the order
# they start: xdist hands out the tests one or two at a time
# (``--maxschedchunk=1`` in pyproject.toml), worker 1 getting the first two
# and worker 2 the next two, then each worker the next test as it finishes
# one. Started first, they run beside the short tests instead of being left
# to one worker at the end while the other idles.
LONGEST_FIRST = [
    "tests/test_other_backends.py::test_backend_runs_the_marked_tests[jax-rest]",
    "tests/test_other_backends.py::test_backend_runs_the_marked_tests[torch]",
    "tests/test_other_backends.py::test_backend_runs_the_marked_tests[jax-search]",
    "tests/test_docs.py::test_user_guide_blocks_run",
    "tests/test_docs.py::test_the_documentation_site_builds_without_warnings",
    "tests/test_notebooks.py::test_notebook_runs_in_a_kernel_and_draws",
    "tests/test_examples.py::test_every_example_runs",
    "tests/test_sample.py::test_wheel_carries_the_sample_and_stays_small",
    "tests/test_sample.py::test_installed_package_trains_offline_on_the_sample",
]


def _start_rank(item) -> int:
    """An item's place in LONGEST_FIRST (by node id prefix), else after them
    all (a stable sort keeps the other tests in their order)."""
    for rank, prefix in enumerate(LONGEST_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONGEST_FIRST)


def pytest_terminal_summary(terminalreporter, config):
    if keras.backend.backend() != "tensorflow":  # test_other_backends reads it
        terminalreporter.write_line(
            f"skmlp: these tests ran on Keras' {keras.backend.backend()} backend."
        )
    # Collection runs in the xdist workers, so this says it without a count.
    if not HAVE_MNIST:
        terminalreporter.write_line(
            f"skmlp: the tests that read the real MNIST files were deselected: "
            f"none found in {MNIST_DIR} (put them there or set SKMLP_TEST_MNIST)."
        )
