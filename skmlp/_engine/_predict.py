"""Prediction in NumPy float64, from the trained Keras network's layers.

Calling a Keras model costs far more than this small network's arithmetic
for a few rows (``model.predict`` sets up a data pipeline; a first
``predict_on_batch`` traces a function per model object). In float64 a row's
output does not depend on which other rows share its batch (float32 matrix
kernels block differently by batch size), which scikit-learn's checks
require. So predictions are computed here, on the host, from a float64 copy
of the weights taken once per fitted network.

On an accelerator (JAX on a GPU) the host would take far longer than the
device on large batches, so ``DevicePredictor`` runs the same steps there,
compiled, on chunks of a fixed number of rows: the same kernels for a row
whatever else is in the batch.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._keras import keras, to_numpy
from . import on_accelerator
from ._cache import LRU


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
        values = [to_numpy(a) for a in values]
    return {
        id(v): np.asarray(a, np.float64) for v, a in zip(variables, values, strict=True)
    }


def _steps(model, values: dict, sqrt) -> list[tuple]:
    """The inference pass of an skmlp network as (kind, a, b) steps.

    ``values`` maps ``id`` of each variable to its array (host or device);
    ``sqrt`` is that array library's. Kinds: "dense" (kernel, bias), "affine"
    (batch normalisation folded into a scale and a shift), "activation"
    (its Keras name, None).
    """
    steps = []

    def activation(function):
        name = activation_name(function)
        if name != "linear":
            steps.append(("activation", name, None))

    for layer in model.layers:
        weights = [values[id(v)] for v in layer.weights]
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = weights
            steps.append(("dense", kernel, bias))
            activation(layer.activation)
        elif isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = weights
            scale = gamma / sqrt(var + layer.epsilon)
            steps.append(("affine", scale, beta - mean * scale))
        elif isinstance(layer, keras.layers.Activation):
            activation(layer.activation)
        elif not isinstance(layer, keras.layers.Dropout):
            raise TypeError(f"unexpected layer {layer.name!r} in an skmlp network")
    return steps


class Predictor:
    """The network's inference pass as a list of NumPy float64 steps."""

    def __init__(self, model):
        self.steps = [
            (kind, ACTIVATIONS[a] if kind == "activation" else a, b)
            for kind, a, b in _steps(model, _host_values(model.weights), np.sqrt)
        ]

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


# Rows per call of the device predictor's compiled pass. Every call has this
# many rows (the last chunk is padded), so a row meets the same kernels
# whatever else is predicted with it.
DEVICE_CHUNK = 512


def make_predictor(model):
    """The predictor of a trained network: on the device or on the host.

    On a CPU, NumPy in float64 (``Predictor``). On an accelerator (JAX), the
    network's own float type on the device (``DevicePredictor``): the host
    would spend far longer than the device on a large batch, as a search's
    scoring of many networks does.
    """
    return DevicePredictor(model) if on_accelerator() else Predictor(model)


_device_passes = LRU()


def _device_pass(structure: tuple):
    """The compiled inference pass of one network structure (cached)."""

    def make():
        import jax
        import jax.numpy as jnp

        activations = [
            keras.activations.get(name) if kind == "activation" else None
            for kind, name in structure
        ]

        def forward(arrays, x):
            h = x
            for (kind, _), act, (a, b) in zip(
                structure, activations, arrays, strict=True
            ):
                if kind == "dense":
                    # Full float32 products: a GPU's default rounds inputs to
                    # TF32 or bfloat16.
                    h = jnp.matmul(h, a, precision=jax.lax.Precision.HIGHEST) + b
                elif kind == "affine":
                    h = h * a + b
                else:
                    h = act(h)
            return h

        return jax.jit(forward)

    return _device_passes.get_or_make(structure, make)


class DevicePredictor:
    """The network's inference pass, compiled, on the device (JAX).

    Computed in the network's float type in chunks of ``DEVICE_CHUNK`` rows,
    so a row's output does not depend on the other rows of the batch; a
    one-row call costs one compiled call.
    """

    def __init__(self, model):
        import jax.numpy as jnp

        # Straight from the device arrays: no trip through the host.
        values = {id(v): v.value for v in model.weights}
        steps = _steps(model, values, jnp.sqrt)
        self.dtype = np.dtype(model.weights[0].dtype) if model.weights else np.float32
        # The compiled pass depends on the kinds and activations only.
        self.structure = tuple(
            (kind, a if kind == "activation" else None) for kind, a, _ in steps
        )
        self.arrays = [
            (None, None) if kind == "activation" else (a, b) for kind, a, b in steps
        ]
        self.forward = _device_pass(self.structure)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        import jax

        X = np.asarray(X, self.dtype)
        n = X.shape[0]
        outputs = []
        for start in range(0, max(n, 1), DEVICE_CHUNK):
            chunk = X[start : start + DEVICE_CHUNK]
            if chunk.shape[0] < DEVICE_CHUNK:  # padded: one compiled shape
                padded = np.zeros((DEVICE_CHUNK, X.shape[1]), X.dtype)
                padded[: chunk.shape[0]] = chunk
                chunk = padded
            outputs.append(self.forward(self.arrays, chunk))
        out = np.concatenate(jax.device_get(outputs))[:n]
        return out.astype(np.float64)
