"""Predictions are the Keras model's: one description, every pass generated from it.

The host predictor, the engine's forward pass and ``model_``'s Keras layers
all follow the network's ``Spec``; these tests compare ``predict_proba`` and
``predict`` with ``model_(X, training=False)`` for every activation skmlp
accepts, with and without batch normalisation, in float32 and float64.
Random weights stand in for training (the comparison is of the forward
passes). Marked ``backends``: they run on TensorFlow here and on JAX and
torch in ``test_other_backends``.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor
from skmlp._engine._predict import ACTIVATIONS, make_predictor
from skmlp._params import ACTIVATIONS as ACCEPTED
from skmlp._targets import ClassTargets, RegressionTargets

from .conftest import ROOT

pytestmark = pytest.mark.backends

# Each output the targets can ask for: softmax, sigmoid, linear, exponential.
OUTPUTS = [
    (MLPKerasClassifier, {}, lambda: ClassTargets.fit(np.arange(4), loss=None)),
    (MLPKerasClassifier, {}, lambda: ClassTargets.fit(np.arange(2), loss=None)),
    (MLPKerasRegressor, {}, lambda: RegressionTargets.fit([[0.0, 1.0]], loss=None, dtype="float32")),
    (MLPKerasRegressor, {"loss": "poisson"}, lambda: RegressionTargets.fit([0.0], loss="poisson", dtype="float32")),
]  # fmt: skip


def _x64() -> bool:
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def _random_network(activation: str, output: int, batch_norm: bool, dtype: str):
    """A fitted estimator whose weights are random, from its spec alone."""
    cls, params, make_targets = OUTPUTS[output]
    estimator = cls(
        (7, 5), activation=activation, batch_normalization=batch_norm, **params
    )
    targets = make_targets()
    spec = estimator._make_spec(targets, 6, dtype, 10)
    model = estimator._build_model(spec, seed=0)
    rng = np.random.default_rng(abs(hash((activation, output, batch_norm))) % 2**32)
    model.set_weights(
        [
            # Moving variances positive; the rest around the scale of training.
            rng.uniform(0.5, 2.0, w.shape) if "variance" in v.path else rng.normal(0, 0.6, w.shape)
            for v, w in zip(model.weights, model.get_weights(), strict=True)
        ]
    )  # fmt: skip
    # Fitted as a fit leaves it, without building the network a second time.
    estimator.n_features_in_, estimator.n_outputs_ = 6, targets.output_units
    if cls is MLPKerasClassifier:
        estimator.classes_ = targets.classes
    estimator._spec, estimator._targets, estimator.model_ = spec, targets, model
    estimator._predictor = make_predictor(spec, model)
    return estimator


# JAX computes in float64 only in its 64-bit mode, set before any JAX array
# exists: there the float64 cases run in a process of their own (below).
@pytest.mark.parametrize("dtype", ["float32", "float64"] if _x64() else ["float32"])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_predictions_are_the_keras_models_for_every_activation(dtype, batch_norm):
    X = np.random.default_rng(0).normal(0, 1, (40, 6))
    for i, activation in enumerate(ACCEPTED):
        estimator = _random_network(activation, i % len(OUTPUTS), batch_norm, dtype)
        keras_out = keras.ops.convert_to_numpy(
            estimator.model_(X.astype(dtype), training=False)
        ).astype(np.float64)
        if isinstance(estimator, MLPKerasClassifier):
            ours = estimator.predict_proba(X)
            if keras_out.shape[1] == 1:
                keras_out = np.hstack([1 - keras_out, keras_out])
            labels = estimator.classes_[np.argmax(keras_out, axis=1)]
            agree = np.mean(estimator.predict(X) == labels)
            assert agree >= 0.95, (activation, agree)  # ties aside
        else:
            ours = estimator.predict(X).reshape(len(X), -1)
        np.testing.assert_allclose(
            ours, keras_out, rtol=1e-5, atol=1e-6, err_msg=activation
        )


@pytest.mark.only_backend("jax")
def test_float64_on_jax_in_64_bit_mode():
    env = {**os.environ, "JAX_ENABLE_X64": "1", "SKMLP_JAX_CACHE": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "-k", "every_activation and float64", str(ROOT / "tests" / "test_prediction.py")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout, result.stdout[-500:]


@pytest.mark.parametrize("name", [*ACCEPTED, "softmax", "exponential"])
def test_each_host_kernel_is_keras_activation(name):
    # The host predictor's kernels sit in one table; each is Keras' formula.
    x = np.linspace(-6, 6, 97).reshape(-1, 1) * np.ones((1, 3))
    dtype = "float64" if _x64() else "float32"
    theirs = keras.ops.convert_to_numpy(
        keras.activations.get(name)(keras.ops.convert_to_tensor(x, dtype=dtype))
    )
    np.testing.assert_allclose(ACTIVATIONS[name](x), theirs, rtol=1e-6, atol=1e-7)
