"""The kinds of values a parameter accepts, described for humans.

``skmlp._params`` lists each parameter's constraints; ``_validation.check_params``
checks an estimator against them. Kept free of scikit-learn and Keras so that
the ``skmlp`` command reads the table of parameters without loading either:
a Keras class is named by its dotted path and imported when first needed.
"""

from __future__ import annotations

import difflib
import importlib
import numbers
import os
from collections.abc import Iterable
from typing import Any

import numpy as np


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
    """An instance of one of ``types``: classes, or dotted paths to them."""

    def __init__(self, *types: type | str, description: str | None = None):
        self._types = types
        self.description = description

    @property
    def types(self) -> tuple[type, ...]:
        return tuple(_resolve(t) if isinstance(t, str) else t for t in self._types)

    def is_satisfied_by(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        if self.description:
            return self.description
        names = (t.rpartition(".")[2] if isinstance(t, str) else t.__name__
                 for t in self._types)  # fmt: skip
        return "an instance of " + " or ".join(names)


def _resolve(path: str) -> type:
    module, _, name = path.rpartition(".")
    if module.split(".")[0] == "keras":
        from . import _keras  # noqa: F401  (skmlp's set-up of Keras comes first)
    return getattr(importlib.import_module(module), name)


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
