"""The tests marked ``backends`` again, on JAX and on torch, in fresh processes.

Keras picks its backend once per process (``KERAS_BACKEND``), so each backend
gets a pytest run of its own.
"""

import os
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backend_runs_the_marked_tests(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "SKMLP_JAX_CACHE": "0"}
    code = f"import keras; assert keras.backend.backend() == {backend!r}"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "-m", "backends", str(ROOT / "tests")],
        env=env, capture_output=True, text=True, timeout=1200, cwd=ROOT,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in summary and "failed" not in summary, summary
    assert "skipped" not in summary and "deselected" in summary, summary
