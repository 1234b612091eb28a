"""Declarative parameter validation with messages that name the fix.

Each estimator lists its constraints in ``_skmlp_constraints`` (the same
idea as scikit-learn's ``_parameter_constraints``, whose implementation is
private, under a name of skmlp's own so that scikit-learn's tools never take
one for the other); ``check_params`` checks them at ``fit`` time, never in
``__init__`` or ``set_params``.
"""

from __future__ import annotations

import difflib
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

try:  # scikit-learn's class has no public home; catchers of it catch ours
    from sklearn.utils._param_validation import (
        InvalidParameterError as _SklearnInvalidParameterError,
    )
except ImportError:  # pragma: no cover - a scikit-learn that moved it
    _SklearnInvalidParameterError = ValueError


class InvalidParameterError(_SklearnInvalidParameterError, ValueError, TypeError):
    """Raised when an estimator's parameter has a bad type or value.

    A subclass of scikit-learn's ``InvalidParameterError`` (where scikit-learn
    still defines it there), and so of both ``ValueError`` and ``TypeError``:
    an ``except`` for any of them catches it.
    """


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""``."""
    matches = difflib.get_close_matches(str(word).lower(), sorted(choices), n=1)
    return f" Did you mean {matches[0]!r}?" if matches else ""


class Constraint:
    """One allowed kind of value; ``str(constraint)`` describes it for humans."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError

    def hint(self, value: Any) -> str:
        return ""


class Options(Constraint):
    def __init__(self, *options: str):
        self.options = options

    def is_satisfied_by(self, value):
        return isinstance(value, str) and value in self.options

    def hint(self, value):
        return did_you_mean(value, self.options) if isinstance(value, str) else ""

    def __str__(self):
        return "one of " + ", ".join(repr(o) for o in self.options)


class Infinity(Constraint):
    """``np.inf`` (for a patience that never runs out, as in scikit-learn)."""

    def is_satisfied_by(self, value):
        return isinstance(value, numbers.Real) and value == float("inf")

    def __str__(self):
        return "np.inf"


class InstanceOf(Constraint):
    def __init__(self, *types: type, description: str | None = None):
        self.types = types
        self.description = description

    def is_satisfied_by(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        if self.description:
            return self.description
        return "an instance of " + " or ".join(t.__name__ for t in self.types)


class Interval(Constraint):
    """A real or integral number between ``low`` and ``high``."""

    def __init__(self, kind, low=None, high=None, closed="both"):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def is_satisfied_by(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.kind):
            return False
        if not np.isfinite(value):
            return False
        low_ok = (
            self.low is None
            or value > self.low
            or (value == self.low and self.closed in ("both", "left"))
        )
        high_ok = (
            self.high is None
            or value < self.high
            or (value == self.high and self.closed in ("both", "right"))
        )
        return low_ok and high_ok

    def __str__(self):
        word = "an int" if self.kind is numbers.Integral else "a float"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{word} in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            op = ">=" if self.closed in ("both", "left") else ">"
            return f"{word} {op} {self.low}"
        return word


class NoneValue(Constraint):
    def is_satisfied_by(self, value):
        return value is None

    def __str__(self):
        return "None"


class Boolean(Constraint):
    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "True or False"


class PathLike(Constraint):
    def is_satisfied_by(self, value):
        return isinstance(value, (str, os.PathLike))

    def __str__(self):
        return "a path"


class PerLayer(Constraint):
    """One value for every hidden layer, or a list/tuple of one per layer."""

    def __init__(self, inner: Constraint):
        self.inner = inner

    def is_satisfied_by(self, value):
        if isinstance(value, (list, tuple)):
            return all(self.inner.is_satisfied_by(v) for v in value)
        return self.inner.is_satisfied_by(value)

    def hint(self, value):
        values = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in values if not self.inner.is_satisfied_by(v)]
        return self.inner.hint(bad[0]) if bad else ""

    def __str__(self):
        return f"{self.inner}, or a list of one per hidden layer"


class LayerSizes(Constraint):
    def is_satisfied_by(self, value):
        positive = Interval(numbers.Integral, 1, None)
        if isinstance(value, (list, tuple)):
            return all(positive.is_satisfied_by(v) for v in value)
        return positive.is_satisfied_by(value)

    def __str__(self):
        return "a tuple of positive ints (one per hidden layer; () for none)"


def check_params(estimator: Any, constraints: dict[str, list[Constraint]]):
    """Check every parameter of ``estimator`` named in ``constraints``.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, what it accepts, what it got and, for a
        misspelt name, the closest valid one.
    """
    for name, allowed in constraints.items():
        value = getattr(estimator, name)
        if any(c.is_satisfied_by(value) for c in allowed):
            continue
        hints = "".join(c.hint(value) for c in allowed)
        accepted = " or ".join(str(c) for c in allowed)
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be "
            f"{accepted}. Got {value!r} instead.{hints}"
        )


def per_layer(value: Any, n_layers: int, name: str) -> list:
    """Expand a per-layer parameter to a list with one entry per hidden layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise InvalidParameterError(
                f"{name} has {len(value)} entries but there are {n_layers} hidden "
                f"layers; give one value, or one per hidden layer."
            )
        return list(value)
    return [value] * n_layers


def layer_sizes(value: int | Sequence[int]) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of ints (a bare int means one layer)."""
    if isinstance(value, numbers.Integral):
        return (int(value),)
    return tuple(int(v) for v in value)
