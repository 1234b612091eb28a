import os
from pathlib import Path

# scikit-learn's array-API input check runs only with SciPy's array API support
# on, which must be set before SciPy loads; without it the check is skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

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


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST IDX files (../shared/data/mnist or $SKMLP_TEST_MNIST)."""
    path = Path(os.environ.get("SKMLP_TEST_MNIST", ROOT.parent / "shared/data/mnist"))
    if not (path / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"real MNIST files not found in {path}; set SKMLP_TEST_MNIST")
    return path
