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
from .._spec import ACTIVATION, BATCH_NORM, DENSE
from . import on_accelerator
from ._cache import LRU
from ._program import BN_EPSILON


def _selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


# The host's kernel of every activation skmlp accepts (hidden and output);
# tests/test_prediction.py checks each against keras.activations.
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


def _host_values(variables) -> list[np.ndarray]:
    """Float64 copies of the variables' values.

    On JAX one ``device_get`` fetches them all: reading them one by one
    waits for the device once per array.
    """
    values = [v.value for v in variables]
    if keras.backend.backend() == "jax":
        import jax

        values = jax.device_get(values)
    else:
        values = [to_numpy(a) for a in values]
    return [np.asarray(a, np.float64) for a in values]


def _steps(spec, weights, sqrt) -> list[tuple]:
    """The inference pass of ``spec`` as (kind, a, b) steps.

    Generated from ``spec.operations()``, the one description of what the
    network computes; ``weights`` are its arrays in ``model_.weights`` order
    (host or device), ``sqrt`` that array library's. Kinds: "dense" (kernel,
    bias), "affine" (batch normalisation folded into a scale and a shift),
    "activation" (its Keras name, None); dropout does nothing at inference.
    """
    weights = iter(weights)
    steps = []
    for kind, arg in spec.operations():
        if kind == DENSE:
            steps.append(("dense", next(weights), next(weights)))
        elif kind == BATCH_NORM:
            gamma, beta, mean, var = (next(weights) for _ in range(4))
            scale = gamma / sqrt(var + BN_EPSILON)
            steps.append(("affine", scale, beta - mean * scale))
        elif kind == ACTIVATION and arg != "linear":
            steps.append(("activation", arg, None))
    return steps


class Predictor:
    """The network's inference pass as a list of NumPy float64 steps."""

    def __init__(self, spec, model):
        self.steps = [
            (kind, ACTIVATIONS[a] if kind == "activation" else a, b)
            for kind, a, b in _steps(spec, _host_values(model.weights), np.sqrt)
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


def make_predictor(spec, model):
    """The predictor of ``spec`` with ``model``'s weights: device or host.

    On a CPU, NumPy in float64 (``Predictor``). On an accelerator (JAX), the
    network's own float type on the device (``DevicePredictor``): the host
    would spend far longer than the device on a large batch, as a search's
    scoring of many networks does.
    """
    return DevicePredictor(spec, model) if on_accelerator() else Predictor(spec, model)


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

    def __init__(self, spec, model):
        import jax.numpy as jnp

        # Straight from the device arrays: no trip through the host.
        steps = _steps(spec, [v.value for v in model.weights], jnp.sqrt)
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
