"""A fitted network's state as plain values, and the checks that its parts agree.

A fitted estimator is its ``Spec``, its targets, a few attributes and the
network's arrays (``_base._BaseMLP._fitted_state``): what pickle, skops and
``skmlp.save`` store. ``check_consistent`` refuses a state whose parts do
not describe one network before anything is built from it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin

from ._keras import to_numpy
from ._spec import Spec
from ._targets import ClassTargets

# What a fit leaves besides the network, its spec and its targets (pickle and
# skmlp.save keep exactly these; tests/test_params.py checks that a fit sets
# nothing else).
FITTED = (
    "n_features_in_",
    "feature_names_in_",
    "n_iter_",
    "history_",
    "n_outputs_",
    "classes_",
    "tensorboard_log_dir_",
    "_seed",
    "_fit_calls",
)


def network_arrays(model) -> dict[str, list[np.ndarray]]:
    """A Keras network's state as plain arrays: its weights, its optimizer's."""
    return {
        "weights": [to_numpy(v) for v in model.weights],
        "optimizer": [to_numpy(v) for v in model.optimizer.variables],
    }


def check_consistent(estimator, spec: Spec, targets, attributes, network) -> None:
    """Refuse a fitted state whose parts do not describe one network.

    Every entry is checked against the others before anything is built: the
    weights' shapes against the spec's (so a state edited to ask for huge
    layers allocates nothing), the output units against the targets and
    ``classes_``, the float type against the allowed ones.
    """
    check_described(estimator, spec, targets, attributes)
    shapes = [tuple(np.shape(w)) for w in network["weights"]]
    if shapes != spec.weight_shapes():
        raise ValueError(
            f"the saved weights' shapes {shapes} are not those of the network the "
            f"spec describes {spec.weight_shapes()}"
        )
    for kind in ("weights", "optimizer"):
        for value in network[kind]:
            if np.asarray(value).dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(f"the saved {kind} hold NaN or infinite values")


def check_described(estimator, spec: Spec, targets, attributes) -> None:
    """``check_consistent`` less the network's arrays: what a file describes.

    ``skmlp.load`` checks this before it reads the arrays.
    """
    if spec.dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"unknown network dtype {spec.dtype!r}")
    if spec.target not in ("sparse", "one_hot", "binary", "multilabel", "regression"):
        raise ValueError(f"unknown kind of target {spec.target!r}")
    if spec.output_activation not in ("softmax", "sigmoid", "linear", "exponential"):
        raise ValueError(f"unknown output activation {spec.output_activation!r}")
    if attributes.get("n_features_in_", spec.n_features) != spec.n_features:
        raise ValueError("n_features_in_ does not match the network's input")
    names = attributes.get("feature_names_in_")
    if names is not None and len(names) != spec.n_features:
        raise ValueError("feature_names_in_ does not match the network's input")
    classifier = isinstance(estimator, ClassifierMixin)
    if classifier != isinstance(targets, ClassTargets):
        raise ValueError(
            f"a {type(estimator).__name__} with a "
            f"{'regressor' if classifier else 'classifier'}'s targets; the state was "
            f"saved from another kind of estimator"
        )
    if (spec.output_units, spec.output_activation, spec.target) != (
        targets.output_units,
        targets.output_activation,
        targets.target,
    ):
        raise ValueError("the network's output does not match its targets")
    if isinstance(targets, ClassTargets):
        classes = targets.classes
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise ValueError("classes_ must be distinct labels")
        expected = len(classes)
        if targets.form != "multilabel" and len(classes) == 2:
            expected = targets.output_units  # 1 sigmoid, or 2 softmax for one-hot
        if spec.output_units != expected or (
            targets.form == "multilabel" and spec.output_activation != "sigmoid"
        ):
            raise ValueError(
                f"{len(classes)} classes_ do not match the network's "
                f"{spec.output_units} output units"
            )
