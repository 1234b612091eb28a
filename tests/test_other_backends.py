"""The tests marked ``backends`` again, on JAX and on torch, in fresh processes.

Keras picks its backend once per process (``KERAS_BACKEND``), so each backend
gets pytest runs of its own. On JAX the marked tests are run in two parts (the
searches and ensembles batched on JAX in one, everything else in the other),
each a test here: the two workers of the suite share them, where one run was
the longest test of the suite by far. Together the parts are every marked test.
"""

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

# The files of the JAX run's first part; the second part is every other file.
SEARCH_FILES = ["tests/test_batched.py", "tests/test_parallel.py"]

PARTS = {
    "jax-search": ("jax", SEARCH_FILES),
    "jax-rest": ("jax", ["tests", *(f"--ignore={f}" for f in SEARCH_FILES)]),
    "torch": ("torch", ["tests"]),
}


@pytest.mark.parametrize("part", list(PARTS))
def test_backend_runs_the_marked_tests(part):
    backend, paths = PARTS[part]
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "SKMLP_JAX_CACHE": "0",
        # One thread each, as the suite's two workers share two cores: torch's
        # and XLA's thread pools otherwise spin against each other (torch's
        # run took three times as long beside the others as alone).
        "OMP_NUM_THREADS": "1",
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "-m", "backends", *paths],
        env=env, capture_output=True, text=True, timeout=1200, cwd=ROOT,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in summary and "failed" not in summary, summary
    assert "skipped" not in summary, summary
    if "tests" in paths:  # the unmarked tests of the suite were left out
        assert "deselected" in summary, summary
    # (The check the run used to start with, in a process of its own.)
    assert f"ran on Keras' {backend} backend" in result.stdout, result.stdout[-2000:]
