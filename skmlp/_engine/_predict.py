"""Prediction in NumPy float64, from the trained Keras network's layers.

Calling a Keras model costs far more than this small network's arithmetic
for a few rows (``model.predict`` sets up a data pipeline; a first
``predict_on_batch`` traces a function per model object). In float64 a row's
output does not depend on which other rows share its batch (float32 matrix
kernels block differently by batch size), which scikit-learn's checks
require. So predictions are computed here, on the host, from a float64 copy
of the weights taken once per fitted network.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._keras import keras


def _selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": _selu,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "gelu": lambda x: 0.5 * x * (1 + special.erf(x / np.sqrt(2))),
    "silu": lambda x: x * special.expit(x),
    "swish": lambda x: x * special.expit(x),
    "softplus": lambda x: np.logaddexp(x, 0),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(np.logaddexp(x, 0)),
    "softmax": lambda x: special.softmax(x, axis=1),
    "exponential": np.exp,
}


def activation_name(function) -> str:
    """The Keras name of an activation function ("relu", "softmax", ...).

    Read from the function itself where Keras knows it by that name:
    ``keras.activations.serialize`` would import TensorFlow (to check for
    it) even under JAX or torch, seconds on a first fit.
    """
    name = getattr(function, "__name__", None)
    try:
        if name and keras.activations.get(name) is function:
            return name
    except ValueError:
        pass
    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else name.get("config", name)


def _host_values(variables) -> dict[int, np.ndarray]:
    """Float64 copies of the variables' values, by ``id`` of the variable.

    On JAX one ``device_get`` fetches them all: reading them one by one
    waits for the device once per array.
    """
    values = [v.value for v in variables]
    if keras.backend.backend() == "jax":
        import jax

        values = jax.device_get(values)
    else:
        values = [keras.ops.convert_to_numpy(a) for a in values]
    return {
        id(v): np.asarray(a, np.float64) for v, a in zip(variables, values, strict=True)
    }


class Predictor:
    """The network's inference pass as a list of NumPy float64 steps."""

    def __init__(self, model):
        self.steps = []
        host = _host_values(model.weights)
        for layer in model.layers:
            weights = [host[id(v)] for v in layer.weights]
            if isinstance(layer, keras.layers.Dense):
                kernel, bias = weights
                self.steps.append(("dense", kernel, bias))
                self._add_activation(layer.activation)
            elif isinstance(layer, keras.layers.BatchNormalization):
                gamma, beta, mean, var = weights
                scale = gamma / np.sqrt(var + layer.epsilon)
                self.steps.append(("affine", scale, beta - mean * scale))
            elif isinstance(layer, keras.layers.Activation):
                self._add_activation(layer.activation)
            elif not isinstance(layer, keras.layers.Dropout):
                raise TypeError(f"unexpected layer {layer.name!r} in an skmlp network")

    def _add_activation(self, function) -> None:
        name = activation_name(function)
        if name != "linear":
            self.steps.append(("activation", ACTIVATIONS[name], None))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        h = np.asarray(X, np.float64)
        for kind, a, b in self.steps:
            if kind == "dense":
                h = h @ a + b
            elif kind == "affine":
                h = h * a + b
            else:
                h = a(h)
        return h
