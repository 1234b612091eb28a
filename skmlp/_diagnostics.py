"""Errors and warnings that name the fix for what users most often get wrong.

Checked before a fit (names of parameters, the shapes the labs' data
arrives in, text columns) and after it (a classifier stuck at chance on
unscaled inputs).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin

from ._constraints import did_you_mean
from ._targets import is_multilabel, is_one_hot
from ._validation import InvalidParameterError


def check_names(cls, names, prefixes: tuple[str, ...], *, at_fit: bool = False) -> None:
    """Refuse a keyword that is neither a parameter nor a routed Keras argument.

    Outside ``fit``, ``routed_params`` itself (the name of the catch-all,
    which scikit-learn's own checks pass as a keyword) is left for ``fit``
    to report.
    """
    for name in names:
        if name.startswith(prefixes) or (name == "routed_params" and not at_fit):
            continue
        raise InvalidParameterError(
            f"{cls.__name__} has no parameter {name!r}."
            f"{did_you_mean(name, cls._get_param_names())} Extra Keras "
            f"arguments take a prefix: {', '.join(prefixes)} "
            f"(for example optimizer__beta_1=0.9)."
        )


def explain_shapes(estimator, X, y) -> None:
    """Name the fix for the shapes the labs' data most often arrives in."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 3:
        raise ValueError(
            f"X has shape {tuple(shape)}: the network takes one row of features per "
            f"sample. Flatten images first: skmlp.datasets.to_features(X) (which also "
            f"scales 0-255 pixels to [0, 1]) or X.reshape(len(X), -1)."
        )
    text = non_numeric_columns(X)
    if text:
        raise ValueError(
            f"X has non-numeric columns {text[:5]}: the network takes numbers. "
            f"Encode them in a pipeline, for example make_pipeline("
            f"make_column_transformer((OneHotEncoder(), {text[:5]}), "
            f"remainder=StandardScaler()), {type(estimator).__name__}())."
        )
    y_shape = getattr(y, "shape", None)
    if (
        isinstance(estimator, ClassifierMixin)
        and y_shape is not None
        and len(y_shape) == 2
        and y_shape[1] > 1
        and not is_one_hot(y, estimator._loss)
        and not is_multilabel(y)
    ):
        raise ValueError(
            f"y has shape {tuple(y_shape)}; the classifier takes one label per "
            f"sample, or one-hot rows (exactly one 1 each) with "
            f"loss='categorical_crossentropy', as the labs train. Otherwise pass "
            f"y.argmax(axis=1): the classes are then 0 to {y_shape[1] - 1}."
        )


def non_numeric_columns(X) -> list:
    """A DataFrame's columns that are neither numbers nor booleans."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):  # not a pandas DataFrame
        return []
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return [
        name
        for name, dtype in dtypes.items()
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))
    ]


def warn_if_stuck_at_chance(estimator, X) -> None:
    """Warn when a classifier ended at chance on inputs far outside [0, 1]."""
    accuracy = estimator.history_.get("accuracy")
    classes = getattr(estimator, "classes_", None)
    if not accuracy or classes is None or X is None:
        return
    if accuracy[-1] > 1.5 / len(classes):
        return
    # Raw counts such as 0-255 pixels: non-negative and large. (Standardised
    # inputs may reach 40 in a rare column, but they are centred.) A sample of
    # rows first: unscaled inputs show in any of them.
    sample = X[:: max(1, X.shape[0] // 1000)]
    largest = float(np.max(sample))
    if largest <= 10:
        largest = float(np.max(X))
    if largest > 10 and float(np.min(X)) >= 0:
        warnings.warn(
            f"training accuracy stayed at chance level ({accuracy[-1]:.3f}) and the "
            f"inputs reach {largest:g}: unscaled inputs (such as 0-255 pixels) "
            f"saturate the network. Scale them (skmlp.datasets.to_features, "
            f"IDXLoader(scale=True) or sklearn's StandardScaler) or lower the "
            f"learning rate. Where raw pixels are the point (the labs' C and E "
            f"groups), silence this with warnings.filterwarnings('ignore', "
            f"'training accuracy stayed at chance').",
            UserWarning,
            stacklevel=4,
        )


def no_early_stopping_in_partial_fit(estimator) -> None:
    if estimator.early_stopping:
        raise ValueError(
            "partial_fit does not support early_stopping=True: it would hold back "
            "the last rows of every batch. Use fit, or set early_stopping=False."
        )
