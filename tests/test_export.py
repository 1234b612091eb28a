"""``model_`` is a Keras model in every sense: summary, evaluate, Keras' own export.

Marked ``backends``: TensorFlow here, JAX and torch in test_other_backends
(ONNX on TensorFlow and torch; JAX's needs jax2onnx, not in the extras).
"""

import numpy as np
import pytest

import skmlp
from skmlp import MLPKerasClassifier

pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return MLPKerasClassifier((16,), epochs=2, random_state=0).fit(X / 16, y)


def _check_model(model, X, y):
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    assert any("output" in line for line in lines) and "Total params" in "".join(lines)
    loss, accuracy = model.evaluate(X, y, verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1


def test_summary_and_evaluate_after_fit_and_after_load(fitted, digits, tmp_path):
    X, y = digits
    _check_model(fitted.model_, X / 16, y)
    fitted.save(tmp_path / "clf.skmlp")
    loaded = skmlp.load(tmp_path / "clf.skmlp")
    _check_model(loaded.model_, X / 16, y)
    # evaluate's accuracy is the estimator's score (Keras' own forward pass).
    assert loaded.model_.evaluate(X / 16, y, verbose=0)[1] == pytest.approx(
        loaded.score(X / 16, y), abs=1e-6
    )


@pytest.mark.only_backend("tensorflow", "torch")
def test_keras_onnx_export_serves_predict_proba(fitted, digits, tmp_path):
    import onnxruntime

    X = (digits[0][:50] / 16).astype(np.float32)
    path = tmp_path / "clf.onnx"
    fitted.model_.export(str(path), format="onnx", verbose=False)  # Keras' own
    session = onnxruntime.InferenceSession(str(path))
    served = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(served, fitted.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.only_backend("tensorflow")
def test_keras_saved_model_export_serves_predict_proba(fitted, digits, tmp_path):
    import tensorflow as tf

    X = (digits[0][:50] / 16).astype(np.float32)
    fitted.model_.export(str(tmp_path / "saved"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))  # kept: it owns the weights
    served = loaded.serve(X).numpy()
    np.testing.assert_allclose(served, fitted.predict_proba(X), rtol=1e-5, atol=1e-6)
