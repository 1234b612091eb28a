"""Errors and warnings that name the fix for what users most often get wrong.

Checked before a fit (names of parameters, the shapes the labs' data
arrives in, text columns) and after it (a classifier stuck at chance on
unscaled inputs, a loss that rose a hundredfold, one class predicted for
every row).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin

from ._constraints import did_you_mean
from ._data import dense
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


# A fit's final loss over this many times its first epoch's has diverged,
# finite or not (a non-finite loss stops training: _engine.DivergenceError).
_LOSS_RISE = 100


def warn_if_stuck_at_chance(estimator, job) -> None:
    """Warn, once, when a fit (``_base._FitJob`` ``job``) ended where it should not.

    Three symptoms, each of a step too large for the inputs: a classifier's
    training accuracy at chance on inputs far outside [0, 1] (such as 0-255
    pixels), a final loss over 100 times the first epoch's, a classifier
    whose ``y`` has several classes predicting one for every training row.
    One warning says which were seen and names the fix: scaling the inputs
    where they look unscaled, else a lower learning rate.
    """
    X = job.X
    if X is None or not X.shape[0]:
        return
    history = estimator.history_
    symptoms = []
    losses = history.get("loss", [])[-estimator.n_iter_ :] if estimator.n_iter_ else []
    if (
        len(losses) >= 2
        and not estimator.early_stopping  # it keeps the best epoch, not the last
        and 0 < losses[0] * _LOSS_RISE < losses[-1] < np.inf
    ):
        symptoms.append(
            f"the loss rose from {losses[0]:.4g} in the first epoch to "
            f"{losses[-1]:.4g} in the last"
        )
    rows, targets = _training_rows(job)
    only = _only_class(estimator, rows, targets)
    if only is not None:
        symptoms.append(
            f"it predicts the class {only!r} for every one of the {rows.shape[0]} "
            f"training rows"
        )
    accuracy = history.get("accuracy")
    classes = getattr(estimator, "classes_", None)
    at_chance = bool(accuracy) and classes is not None
    at_chance = at_chance and accuracy[-1] <= 1.5 / len(classes)
    if not (symptoms or at_chance):
        return
    largest = _unscaled(X)
    scale = (
        "Scale them (skmlp.datasets.to_features, IDXLoader(scale=True) or "
        "sklearn's StandardScaler) or lower the learning rate."
    )
    if at_chance and largest is not None:
        also = "".join(f", {symptom}," for symptom in symptoms)
        warnings.warn(
            f"training accuracy stayed at chance level ({accuracy[-1]:.3f}){also} "
            f"and the inputs reach {largest:g}: unscaled inputs (such as 0-255 "
            f"pixels) saturate the network. {scale} Where raw pixels are the "
            f"point (the labs' C and E groups), silence this with "
            f"warnings.filterwarnings('ignore', 'training accuracy stayed at "
            f"chance').",
            UserWarning,
            stacklevel=4,
        )
    elif symptoms:
        rate = getattr(estimator, "learning_rate", None)
        fix = (
            f"The inputs reach {largest:g}: unscaled inputs saturate the network. "
            f"{scale}"
            if largest is not None
            else f"Lower the learning rate (learning_rate="
            f"{'the optimizer default' if rate is None else repr(rate)}; try a "
            f"tenth), or scale the inputs (sklearn's StandardScaler)."
        )
        warnings.warn(
            f"training went wrong: {' and '.join(symptoms)}. {fix}",
            UserWarning,
            stacklevel=4,
        )


def _unscaled(X) -> float | None:
    """The largest input where inputs look unscaled (non-negative, over 10)."""
    # Raw counts such as 0-255 pixels: non-negative and large. (Standardised
    # inputs may reach 40 in a rare column, but they are centred.) A sample of
    # rows first: unscaled inputs show in any of them.
    sample = X[:: max(1, X.shape[0] // 1000)]
    largest = float(sample.max())
    if largest <= 10:
        largest = float(X.max())
    return largest if largest > 10 and float(X.min()) >= 0 else None


def _training_rows(job) -> tuple:
    """The rows a fit trained on and their targets as encoded (or None)."""
    if job.engine is not None:
        X, y, _ = job.engine["data"]
        return X, y
    if job.keras is not None:  # Keras' model.fit: X, y, ... (validation rows last)
        return job.keras[0][: job.n_train], job.keras[1][: job.n_train]
    return job.X, None


def _only_class(estimator, X, y):
    """The one class a classifier predicts for every row of X, where y has
    several (a partial_fit batch may hold one), or None."""
    targets = getattr(estimator, "_targets", None)
    classes = getattr(estimator, "classes_", None)
    if classes is None or len(classes) < 2 or targets.form == "multilabel":
        return None
    if y is None or not X.shape[0]:
        return None
    y = y.toarray() if hasattr(y, "toarray") else np.asarray(y)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.ravel()
    if len(np.unique(labels)) < 2:
        return None
    # A sample of rows first: a network that tells classes apart shows it there.
    step = max(1, X.shape[0] // 1000)
    found = _predicted(estimator, X[::step])
    if len(found) == 1 and step > 1:
        found = _predicted(estimator, X)
    if len(found) != 1:
        return None
    label = classes[found[0]]
    return label.item() if isinstance(label, np.generic) else label


def _predicted(estimator, X) -> np.ndarray:
    """The distinct classes (indices) the network predicts for X's rows."""
    found = set()
    for start in range(0, X.shape[0], 8192):
        out = estimator._predictor(dense(X[start : start + 8192]))
        found.update(np.unique(estimator._targets.probabilities(out).argmax(axis=1)))
    return np.array(sorted(found))


def no_early_stopping_in_partial_fit(estimator) -> None:
    if estimator.early_stopping:
        raise ValueError(
            "partial_fit does not support early_stopping=True: it would hold back "
            "the last rows of every batch. Use fit, or set early_stopping=False."
        )
