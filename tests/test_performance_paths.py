"""The fast paths keep results: prediction, memory over many fits, the JAX backend.

Timings live in benchmarks/run.py; these tests check that being fast changes
no answer and that memory stays bounded.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor

from .conftest import ROOT


@pytest.mark.parametrize("n_rows", [1, 7, 300, 9000])  # 9000 spans two chunks
def test_fast_prediction_matches_model_predict(digits, n_rows):
    X, y = digits
    X = np.resize(X, (n_rows, X.shape[1]))
    clf = MLPKerasClassifier(
        (32, 16), dropout=0.2, batch_normalization=True, epochs=2, random_state=0
    ).fit(*digits)
    expected = clf.model_.predict(X, verbose=0)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    reg = MLPKerasRegressor((8,), epochs=2, random_state=0).fit(
        digits[0], digits[1].astype(float)
    )
    np.testing.assert_allclose(
        reg.predict(X), reg.model_.predict(X, verbose=0).ravel(), rtol=1e-5, atol=1e-5
    )


def test_predictions_do_not_depend_on_the_batch(digits):
    X, y = digits
    clf = MLPKerasClassifier((64,), epochs=2, random_state=0).fit(X, y)
    together = clf.predict_proba(X[:100])
    one_by_one = np.vstack([clf.predict_proba(X[i : i + 1]) for i in range(100)])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12, atol=1e-13)


def test_memory_stays_bounded_over_many_fits():
    """The benchmark's 30-cycle bound (150 MB from the 5th fit on), scaled to 20 fits."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--memory-worker",
            "--memory-cycles",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    growth = json.loads(result.stdout.strip().splitlines()[-1])["growth_5_to_last_mb"]
    assert growth < 150 * 15 / 25, growth
