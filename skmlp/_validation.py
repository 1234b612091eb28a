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
from ._params import PASSED

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


# Keras arguments that the estimator passes itself (compile and fit in
# estimators.py), with the parameter that sets each: routing one too would
# give Keras the argument twice.
# Keras arguments the estimator passes itself (the parameter table's
# ``passes`` column).
_SET_BY_THE_ESTIMATOR = PASSED


def check_routed(routed: dict[str, Any]) -> None:
    """Check routed ``compile__*`` and ``fit__*`` names against Keras.

    ``compile__X`` must be an argument of ``keras.Model.compile`` and
    ``fit__X`` one of ``keras.Model.fit`` (as the installed Keras defines
    them), and not one the estimator already passes. Other names (such as
    ``optimizer__*``) are left to their own checks.

    Parameters
    ----------
    routed : dict
        Routed parameters by their full names (``{"fit__class_weight": ...}``).

    Raises
    ------
    InvalidParameterError
        Naming the routed parameter, the Keras method, the closest argument
        it has (or the estimator's parameter to set instead).
    """
    import difflib
    import inspect

    from ._constraints import did_you_mean
    from ._keras import keras

    methods = {"compile": keras.Model.compile, "fit": keras.Model.fit}
    for name in routed:
        prefix, _, argument = name.partition("__")
        if prefix not in methods or not argument:
            continue
        try:
            parameters = inspect.signature(methods[prefix]).parameters
        except (TypeError, ValueError):  # no signature to check against
            continue
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            continue  # it takes any name
        method = f"keras.Model.{prefix}"
        own = _SET_BY_THE_ESTIMATOR[prefix]
        if argument in own:
            raise InvalidParameterError(
                f"{name}: the estimator passes {argument!r} to {method} itself, "
                f"from {own[argument]}; set that instead."
            )
        routable = [p for p in parameters if p != "self" and p not in own]
        if argument not in routable:
            hint = did_you_mean(argument, routable)
            if not hint:  # close to one the estimator passes: say where it comes from
                close = difflib.get_close_matches(argument.lower(), sorted(own), n=1)
                if close:
                    hint = (
                        f" Did you mean {close[0]!r}? The estimator passes it "
                        f"itself, from {own[close[0]]}."
                    )
            raise InvalidParameterError(
                f"{name}: {method} has no argument {argument!r} that can be routed "
                f"(Keras {keras.__version__}).{hint} Routable: "
                f"{', '.join(f'{prefix}__{p}' for p in routable)}."
            )


# What a Keras config in an skmlp file may name: Keras' own modules only,
# and nothing that carries code.
_CODE_CLASSES = {"Lambda", "function", "__lambda__", "TFOpLambda"}


def check_keras_config(config, refusing: str) -> None:
    """Refuse a Keras config that names code or a module outside Keras.

    ``refusing`` starts the message ("<file>: refusing to load a network").
    """

    def walk(node) -> None:
        if isinstance(node, dict):
            module = node.get("module")
            if node.get("class_name") in _CODE_CLASSES or (
                isinstance(module, str)
                and module != "keras"
                and not module.startswith("keras.")
            ):
                raise ValueError(
                    f"{refusing} that names {module or 'keras'}."
                    f"{node.get('class_name')}; skmlp files hold only Keras' own "
                    f"layers, initializers, regularizers, losses and optimizers."
                )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
