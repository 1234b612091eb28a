"""What the engine compiles: the network's structure, its forward pass and loss.

A ``Program`` holds only what is compiled into a training function: layer
sizes and activations, where batch normalisation and dropout sit, the loss,
the optimizer's class and constant arguments, the batch size, the float
type. Everything a
grid search varies from fit to fit (weights, learning rate, dropout rates,
L1/L2 strengths, seeds, data) is an *input* of the compiled function, so
fits that share a ``Program`` share one compiled function. ``Program.key``
is the cache key; it never holds a Keras object.

The forward pass is written once with ``keras.ops``, so it runs unchanged
under JAX, TensorFlow and torch. It mirrors ``_network.build_mlp`` layer for
layer (Dense -> [BatchNormalization] -> Activation -> [Dropout]); the
parity tests check that the two agree.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._keras import keras
from .._params import PENALTIES
from .._spec import ACTIVATION, BATCH_NORM, DENSE, operations
from ._optim import Rule, split

ops = keras.ops

# How often each compiled function was traced (its Python body ran): tests
# check that a fit of a known structure traces nothing.
TRACES: Counter = Counter()

# Keras' BatchNormalization defaults, which build_mlp keeps.
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class Program:
    """The compiled-in structure of one training function."""

    n_features: int
    hidden: tuple[int, ...]
    activations: tuple[str, ...]
    output_units: int
    output_activation: str
    batch_normalization: bool
    dropout_layers: tuple[bool, ...]  # which hidden layers have dropout
    weight_penalty: bool  # any kernel/bias L1/L2
    activity_penalty: bool  # any activity L1/L2
    loss: Any  # a Keras loss name or a Keras Loss object
    target: str  # "sparse", "one_hot", "binary", "multilabel" or "regression"
    optimizer_class: type
    # Constructor arguments other than learning_rate: with a ``Rule``, only
    # those that shape its variables (the settings are inputs, see _optim).
    optimizer_config: dict
    batch_size: int
    dtype: str = "float32"  # of the weights, data and computation
    optimizer_rule: Rule | None = None  # skmlp's update (None: Keras')
    xla: bool = False  # TensorFlow: the epoch compiled by XLA (uses_xla)
    key: str = field(default="", compare=False)

    def __post_init__(self):
        loss = self.loss
        if isinstance(loss, keras.losses.Loss):
            loss = [type(loss).__module__, type(loss).__qualname__, loss.get_config()]
        parts = [
            self.n_features,
            self.hidden,
            self.activations,
            self.output_units,
            self.output_activation,
            self.batch_normalization,
            self.dropout_layers,
            self.weight_penalty,
            self.activity_penalty,
            loss,
            self.target,
            self.optimizer_class.__module__ + "." + self.optimizer_class.__qualname__,
            self.optimizer_config,
            self.batch_size,
            self.dtype,
            repr(self.optimizer_rule),
            self.xla,
        ]
        object.__setattr__(self, "key", json.dumps(parts, sort_keys=True, default=repr))

    @classmethod
    def from_spec(
        cls, spec, batch_size: int, optimizer, trainable_variables
    ) -> tuple[Program, list[float]]:
        """The program of a ``Spec``, and its optimizer's run-time values.

        ``optimizer``: the Keras optimizer built for the spec (on
        ``trainable_variables``); ``_optim.split`` says what of it is
        compiled in and what is an input.
        """
        rule, config, values = split(optimizer, trainable_variables)
        program = cls(
            n_features=spec.n_features,
            hidden=spec.hidden_layer_sizes,
            activations=spec.activation,
            output_units=spec.output_units,
            output_activation=spec.output_activation,
            batch_normalization=spec.batch_normalization,
            dropout_layers=spec.dropout_layers,
            weight_penalty=spec.has_weight_penalty,
            activity_penalty=spec.has_activity_penalty,
            loss=spec.loss,
            target=spec.target,
            optimizer_class=type(optimizer),
            optimizer_config=config,
            optimizer_rule=rule,
            batch_size=batch_size,
            dtype=spec.dtype,
            xla=uses_xla(spec),
        )
        return program, values

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Program) and self.key == other.key

    # -- shapes of the variables, in the order of the Keras model's ----------

    def trainable_shapes(self) -> list[tuple[int, ...]]:
        shapes, width = [], self.n_features
        for units in self.hidden:
            shapes += [(width, units), (units,)]
            if self.batch_normalization:
                shapes += [(units,), (units,)]  # gamma, beta
            width = units
        return shapes + [(width, self.output_units), (self.output_units,)]

    def state_shapes(self) -> list[tuple[int, ...]]:
        """Non-trainable variables: BatchNormalization's moving statistics."""
        if not self.batch_normalization:
            return []
        return [s for units in self.hidden for s in ((units,), (units,))]

    @property
    def n_dropout(self) -> int:
        return sum(self.dropout_layers)

    def hyper_vector(self, hyper: dict, dropout, optimizer_values) -> np.ndarray:
        """The compiled functions' one vector of settings (see ``Hyper``)."""
        return np.array(
            [hyper[name] for name in HYPER_NAMES]
            + [float(r) for r in dropout]
            + list(optimizer_values),
            dtype=self.dtype,
        )

    def hyper_size(self) -> int:
        rule = self.optimizer_rule
        return (
            len(HYPER_NAMES) + len(self.hidden) + (0 if rule is None else rule.size())
        )

    def hyper(self, vector) -> Hyper:
        return Hyper(vector, len(self.hidden))

    def make_optimizer(self, learning_rate: float = 0.001):
        # from_config: a learning-rate schedule in the config is serialised
        # (and then replaces the learning rate).
        config = {"learning_rate": learning_rate, **self.optimizer_config}
        return self.optimizer_class.from_config(config)

    # -- the forward pass ---------------------------------------------------

    def operations(self) -> tuple[tuple[str, Any], ...]:
        """What the network computes (``_spec.operations``, the one list)."""
        return operations(
            len(self.hidden),
            self.activations,
            self.batch_normalization,
            self.dropout_layers,
            self.output_activation,
        )

    def forward(
        self, params, state, x, hyper, *, training, mask=None, dropout=None, affine=None
    ):
        """Outputs, new BatchNormalization state and the activity penalty.

        ``params`` and ``state`` in ``trainable_shapes``/``state_shapes``
        order. ``hyper`` is a ``Hyper`` of backend tensors. ``mask`` (float,
        1 for real rows) keeps the rows that pad a batch to its compiled size
        out of the batch statistics; ``dropout(x, rate, i)`` is the backend's
        dropout of hidden layer ``i``; ``affine(h, kernel, bias)`` a Dense
        layer's ``h @ kernel + bias`` where the backend has a faster one.
        """
        affine = affine or _affine
        params = iter(params)
        new_state, activity = [], 0.0
        n_real = None if mask is None else ops.sum(mask)
        h = x
        n_hidden = len(self.hidden)
        for kind, arg in self.operations():
            if kind == DENSE:
                h = affine(h, next(params), next(params))
                if arg < n_hidden and self.activity_penalty:
                    # Keras adds the Dense output's activity penalty divided
                    # by the number of rows in the batch.
                    rows = h if mask is None else h * mask[:, None]
                    count = _rows(h) if mask is None else n_real
                    penalty = _l1l2(rows, hyper.activity_l1, hyper.activity_l2)
                    activity = activity + penalty / count
            elif kind == BATCH_NORM:
                gamma, beta = next(params), next(params)
                moving_mean, moving_var = state[2 * arg], state[2 * arg + 1]
                if training:
                    mean, var = _moments(h, mask, n_real)
                    new_state += [
                        moving_mean * BN_MOMENTUM + mean * (1 - BN_MOMENTUM),
                        moving_var * BN_MOMENTUM + var * (1 - BN_MOMENTUM),
                    ]
                else:
                    mean, var = moving_mean, moving_var
                    new_state += [moving_mean, moving_var]
                h = (h - mean) * ops.rsqrt(var + BN_EPSILON) * gamma + beta
            elif kind == ACTIVATION:
                h = keras.activations.get(arg)(h)
            elif training:  # DROPOUT
                h = dropout(h, hyper.dropout[arg], arg)
        return h, new_state, activity

    def weight_penalty_value(self, params, hyper):
        """The kernel and bias L1/L2 penalty of every Dense layer."""
        if not self.weight_penalty:
            return 0.0
        total = 0.0
        for kind, value in zip(self._param_kinds(), params, strict=True):
            if kind == "kernel":
                total = total + _l1l2(value, hyper.kernel_l1, hyper.kernel_l2)
            elif kind == "bias":
                total = total + _l1l2(value, hyper.bias_l1, hyper.bias_l2)
        return total

    def _param_kinds(self) -> list[str]:
        kinds = []
        for _ in self.hidden:
            kinds += ["kernel", "bias"]
            if self.batch_normalization:
                kinds += ["gamma", "beta"]
        return kinds + ["kernel", "bias"]

    # -- loss and accuracy per row ----------------------------------------------

    def per_sample_loss(self, y_true, y_pred):
        if isinstance(self.loss, keras.losses.Loss):
            values = self.loss.call(y_true, y_pred)
        else:
            values = keras.losses.get(self.loss)(y_true, y_pred)
        # Keras may promote (integer labels under JAX's 64-bit mode).
        return ops.cast(ops.reshape(values, (-1,)), y_pred.dtype)

    def correct(self, y_true, y_pred):
        """1.0 where the prediction is right, per row (classifiers only)."""
        if self.target == "binary":
            hit = ops.equal(ops.cast(y_pred[:, 0] > 0.5, y_pred.dtype), y_true[:, 0])
        elif self.target == "multilabel":  # Keras' binary accuracy, per row
            hit = ops.equal(ops.cast(y_pred > 0.5, y_pred.dtype), y_true)
            return ops.mean(ops.cast(hit, y_pred.dtype), axis=1)
        elif self.target == "one_hot":
            hit = ops.equal(ops.argmax(y_pred, axis=1), ops.argmax(y_true, axis=1))
        else:
            hit = ops.equal(ops.argmax(y_pred, axis=1), ops.cast(y_true, "int32"))
        return ops.cast(hit, y_pred.dtype)

    @property
    def has_accuracy(self) -> bool:
        return self.target != "regression"


# jit_compile="auto" on TensorFlow: XLA's step for fits whose epoch has at
# least this many multiply-adds (training rows x weights); see uses_xla.
XLA_MIN_WORK = 1e9


def uses_xla(spec) -> bool:
    """Whether the TensorFlow engine compiles its step with XLA: a fixed rule.

    ``jit_compile=True``: always; False: never; "auto": when an epoch's
    work, the first fit's training rows times the network's weights
    (``spec.n_train``: continued fits keep the first fit's choice), is at
    least ``XLA_MIN_WORK``. Measured on 2 CPU cores (``benchmarks/xla.py``,
    docs/performance.md): the XLA step trains full MNIST's 784-128-128-10
    (7e9) 1.5-1.8x faster per epoch than the graph and compiles in about a
    second of CPU, once per network structure; at 5,000 rows of it (6e8) a
    repeat fit is no faster (0.83x CPU, 1.15x wall) and the first fit 2x
    slower, and digits with (64,) (1e7) gains nothing, so there the compile
    does not pay. The JAX engine is XLA's already, and torch has none.
    """
    if keras.backend.backend() != "tensorflow" or spec.jit_compile is False:
        return False
    if spec.jit_compile is True:
        return True
    widths = spec.widths()
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return spec.n_train * weights >= XLA_MIN_WORK


def _affine(h, kernel, bias):
    return ops.matmul(h, kernel) + bias


def _rows(h):
    # A Python int where the shape is known: a number made a tensor at every
    # step would make an eager (torch) step wait for the GPU.
    rows = ops.shape(h)[0]
    return rows if isinstance(rows, int) else ops.cast(rows, h.dtype)


def _l1l2(x, l1, l2):
    return l1 * ops.sum(ops.abs(x)) + l2 * ops.sum(ops.square(x))


def _moments(h, mask, n_real):
    if mask is None:
        return ops.moments(h, axes=[0])
    m = mask[:, None]
    mean = ops.sum(h * m, axis=0) / n_real
    var = ops.sum(ops.square(h - mean) * m, axis=0) / n_real
    return mean, var


# The L1/L2 strengths, in the hyper vector's order (the parameter table's).
HYPER_NAMES = PENALTIES


class Hyper:
    """The non-compiled hyper-parameters, read from one vector (a tensor).

    Layout: the six L1/L2 strengths of ``HYPER_NAMES``, one dropout rate
    per hidden layer, then the optimizer's settings (``_optim.Rule.values``).
    One vector keeps the compiled functions' signatures the same for every
    network of a structure.
    """

    def __init__(self, vector, n_hidden: int):
        self.vector, self.n_hidden = vector, n_hidden

    def __getattr__(self, name):
        if name in HYPER_NAMES:
            return self.vector[HYPER_NAMES.index(name)]
        raise AttributeError(name)

    @property
    def dropout(self):
        return self.vector[len(HYPER_NAMES) : len(HYPER_NAMES) + self.n_hidden]

    @property
    def optimizer(self):
        return self.vector[len(HYPER_NAMES) + self.n_hidden :]


def steps_bucket(n_steps: int) -> int:
    """Round a number of batches up so that nearby sizes share one shape.

    Cross-validation folds differ by a row or two and ``partial_fit`` chunks
    vary; rounding up (at most 1/8 extra, exact below 16) lets them reuse
    one compiled function on backends that compile for fixed shapes. The
    padding rows are masked out and never form a step of their own.
    """
    if n_steps <= 16:
        return max(n_steps, 1)
    step = 1 << (n_steps.bit_length() - 4)
    return -(-n_steps // step) * step
