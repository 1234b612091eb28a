"""Declarative parameter validation with messages that name the fix.

Each estimator lists its constraints in ``_skmlp_constraints`` (the same
idea as scikit-learn's ``_parameter_constraints``, whose implementation is
private, under a name of skmlp's own so that scikit-learn's tools never take
one for the other); ``check_params`` checks them at ``fit`` time, never in
``__init__`` or ``set_params``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ._constraints import Constraint

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
