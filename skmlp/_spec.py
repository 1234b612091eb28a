"""The one description of a fitted network: a plain, immutable ``Spec``.

A fit builds the ``Spec`` once, from the estimator's parameters and what its
targets need (output units, activation, loss). Everything else is derived
from it and from nothing else:

- the Keras model ``model_`` (``_network.build_mlp``);
- the engine's compiled ``Program`` (``Program.from_spec``), whose forward pass,
  like the host and device predictors (``_engine._predict``), walks
  ``Spec.operations()``: the single list of what the network computes;
- pickles and saved files (the spec beside the weights and optimizer state);
- the continued-fit check (``changes``: the spec a fit would build now,
  compared with the fitted one).

Field names are the parameters' names where a field holds a parameter's
value (normalised: one entry per hidden layer, tuples), so a difference
names the parameter to set back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._params import PENALTIES

# The steps of the inference pass, in order (see ``operations``).
DENSE, BATCH_NORM, ACTIVATION, DROPOUT = "dense", "batch_norm", "activation", "dropout"


def operations(
    n_hidden: int,
    activations,
    batch_normalization: bool,
    dropout_layers,
    output_activation: str,
) -> tuple[tuple[str, Any], ...]:
    """What an skmlp network computes, as (kind, argument) steps.

    Each hidden layer is ``Dense -> [BatchNormalization] -> Activation ->
    [Dropout]`` (the labs' order), then the output ``Dense`` and its
    activation. The argument is the layer's index for dense, batch
    normalisation and dropout steps, the Keras activation's name for
    activations; the output layer's index is ``n_hidden``.
    """
    steps: list[tuple[str, Any]] = []
    for i in range(n_hidden):
        steps.append((DENSE, i))
        if batch_normalization:
            steps.append((BATCH_NORM, i))
        steps.append((ACTIVATION, activations[i]))
        if dropout_layers[i]:
            steps.append((DROPOUT, i))
    steps += [(DENSE, n_hidden), (ACTIVATION, output_activation)]
    return tuple(steps)


@dataclass(frozen=True)
class Spec:
    """A network and the optimizer it trains with, as plain values.

    The weights are not part of it: a fitted network is a spec plus arrays
    (``weight_shapes`` gives their shapes, in ``model_.weights`` order).
    """

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    activation: tuple[str, ...]  # one per hidden layer
    dropout: tuple[float, ...]  # one rate per hidden layer
    batch_normalization: bool
    kernel_initializer: Any  # a Keras name or initializer object
    bias_initializer: Any
    kernel_l1: float
    kernel_l2: float
    bias_l1: float
    bias_l2: float
    activity_l1: float
    activity_l2: float
    output_units: int
    output_activation: str
    loss: Any  # a Keras loss name or Loss object
    target: str  # "sparse", "one_hot", "binary", "multilabel" or "regression"
    dtype: str  # of the weights and the computation
    # How Keras compiles it (the engine reads the optimizer from model_).
    optimizer: Any  # a name, an optimizer class or instance
    learning_rate: float | None
    momentum: float
    metrics: tuple[str, ...] | None
    run_eagerly: bool
    steps_per_execution: Any  # "auto" or an int
    jit_compile: Any
    routed: tuple[tuple[str, Any], ...] = ()  # optimizer__* and compile__*
    n_train: int = 0  # training rows of the first fit (Keras' steps per call)

    def __post_init__(self):
        # Normalised here, so that equal networks compare equal however given.
        for name in ("hidden_layer_sizes", "activation", "dropout"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(
            self, "routed", tuple(sorted((k, v) for k, v in dict(self.routed).items()))
        )

    # -- what the network computes ------------------------------------------

    @property
    def n_hidden(self) -> int:
        return len(self.hidden_layer_sizes)

    @property
    def dropout_layers(self) -> tuple[bool, ...]:
        return tuple(rate > 0 for rate in self.dropout)

    def operations(self) -> tuple[tuple[str, Any], ...]:
        return operations(
            self.n_hidden,
            self.activation,
            self.batch_normalization,
            self.dropout_layers,
            self.output_activation,
        )

    def widths(self) -> tuple[int, ...]:
        """Inputs, each hidden layer's units, outputs."""
        return (self.n_features, *self.hidden_layer_sizes, self.output_units)

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of ``model_.weights``: per layer, in the layers' order."""
        shapes, widths = [], self.widths()
        for kind, i in self.operations():
            if kind == DENSE:
                shapes += [(widths[i], widths[i + 1]), (widths[i + 1],)]
            elif kind == BATCH_NORM:  # gamma, beta, moving mean and variance
                shapes += [(widths[i + 1],)] * 4
        return shapes

    def penalties(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in PENALTIES}

    @property
    def has_weight_penalty(self) -> bool:
        return any(getattr(self, n) > 0 for n in PENALTIES[:4])

    @property
    def has_activity_penalty(self) -> bool:
        return self.activity_l1 > 0 or self.activity_l2 > 0

    def routed_with(self, prefix: str) -> dict[str, Any]:
        return {k[len(prefix) :]: v for k, v in self.routed if k.startswith(prefix)}

    # -- derived --------------------------------------------------------------

    def changes(self, other: Spec) -> list[str]:
        """The fields (parameters' names) whose values differ from ``other``'s."""
        changed = []
        for field in dataclasses.fields(self):
            if field.name == "n_train":
                continue
            if not same(getattr(self, field.name), getattr(other, field.name)):
                changed.append(field.name)
        return changed

    def replace(self, **changes) -> Spec:
        return dataclasses.replace(self, **changes)

    # -- as plain values (pickle, skops, JSON) ---------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict of plain values (tuples as lists)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "routed":
                value = [[k, v] for k, v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Spec:
        """The spec of ``to_dict``; unknown or missing fields are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown network fields {sorted(unknown)}")
        return cls(**values)


def same(a, b) -> bool:
    """Whether two parameter values are the same (arrays, objects, numbers)."""
    import numpy as np

    if a is b:
        return True
    if type(a) is type(b) and hasattr(a, "get_config"):  # Keras objects
        return a.get_config() == b.get_config()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):  # (16,) == [16]
        return len(a) == len(b) and all(map(same, a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays of several elements
        return bool(np.array_equal(a, b))
