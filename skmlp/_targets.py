"""The target side of a network, as one object (scikit-learn's label binarizer).

``ClassTargets`` and ``RegressionTargets`` hold everything a fitted
estimator knows about its ``y``: its form (labels, the labs' one-hot rows,
a multilabel indicator matrix, sparse or dense, one or several regression
columns), the classes, and what the network's output needs for it (units,
activation, loss, the engine's kind of target). ``encode`` turns a ``y``
into what the network trains on; ``decode`` turns the network's outputs
into predictions in the form ``y`` had.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._network import (
    is_binary_loss,
    is_sparse_loss,
    output_layer_for,
    regressor_output_for,
)


@dataclass
class ClassTargets:
    """A classifier's targets: classes, form and output layer."""

    classes: np.ndarray
    form: str  # "labels", "one_hot" or "multilabel"
    sparse: bool  # y was a sparse matrix: predictions are too
    loss: Any
    output_units: int
    output_activation: str

    @property
    def target(self) -> str:
        """The engine's kind of target (``_engine.Program.target``)."""
        if self.form == "multilabel":
            return "multilabel"
        if self.output_units == 1:
            return "binary"
        return "sparse" if is_sparse_loss(self.loss) else "one_hot"

    @classmethod
    def fit(cls, y, *, loss, classes=None) -> ClassTargets:
        """The targets of a first fit on ``y`` (``classes``: partial_fit's)."""
        sparse = sp.issparse(y)
        y = _dense_y(y)
        if _is_multilabel(y) and not _one_hot(y, loss):
            y = np.asarray(y)
            chosen = "binary_crossentropy" if loss is None else loss
            if is_sparse_loss(chosen):
                raise ValueError(
                    f"loss={chosen!r} takes one label per sample; y is a multilabel "
                    f"indicator matrix. Leave loss=None (binary cross-entropy per "
                    f"label)."
                )
            if loss is None and bool((y.sum(axis=1) == 1).all()):
                warnings.warn(
                    "y is one-hot (one 1 per row) and loss=None: it is trained as "
                    "multilabel targets (one sigmoid unit per column), as "
                    "scikit-learn's MLPClassifier does. For the labs' softmax "
                    "network pass loss='categorical_crossentropy' (predictions stay "
                    "one-hot) or y.argmax(axis=1).",
                    UserWarning,
                    stacklevel=6,
                )
            n = y.shape[1]
            return cls(np.arange(n), "multilabel", sparse, chosen, n, "sigmoid")
        if _one_hot(y, loss):
            form = "one_hot"
            if classes is None:
                classes = np.arange(np.shape(y)[1])
            y = np.argmax(y, axis=1)
        else:
            form = "labels"
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
        found = np.unique(y if classes is None else np.asarray(classes))
        if found.shape[0] < 2:
            raise ValueError(
                f"a classifier needs samples of at least 2 classes in y; got only "
                f"one class: {found[0]!r}."
            )
        n_classes = len(found)
        chosen = loss
        if loss is None:
            chosen = (
                "binary_crossentropy"
                if n_classes == 2
                else "sparse_categorical_crossentropy"
            )
        if n_classes > 2 and is_binary_loss(chosen):
            raise ValueError(
                f"loss={chosen!r} is for 2 classes; y has {n_classes}. "
                f"Leave loss=None or use 'sparse_categorical_crossentropy'."
            )
        units, activation = output_layer_for(n_classes, loss)
        return cls(found, form, sparse, chosen, units, activation)

    def encode(self, y, *, warm_start=False, classes=None) -> np.ndarray:
        """``y`` as the network trains on it; refused where it does not fit."""
        y = _dense_y(y)
        multilabel = _is_multilabel(y) and not _one_hot(y, self.loss)
        form = (
            "multilabel"
            if multilabel
            else "one_hot"
            if _one_hot(y, self.loss)
            else "labels"
        )
        if form != self.form:
            raise ValueError(
                "y must keep the form of the first fit (labels, one-hot rows or a "
                "multilabel indicator matrix)."
            )
        if classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes
        ):
            raise ValueError(
                f"classes={list(classes)} differs from the classes of the first "
                f"partial_fit call, {self.classes.tolist()}; they cannot change."
            )
        if form == "multilabel":
            y = np.asarray(y)
            if y.shape[1] != len(self.classes):
                raise ValueError(
                    f"y has {y.shape[1]} labels; the first fit had {len(self.classes)}."
                )
            return y.astype(np.float32)
        if form == "one_hot":
            y = np.argmax(y, axis=1)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if warm_start and not np.array_equal(np.unique(y), self.classes):
            raise ValueError(
                f"warm_start can only continue training on the classes of the "
                f"previous fit, {self.classes.tolist()}; y has "
                f"{np.unique(y).tolist()}. Set warm_start=False to start afresh, or "
                f"use partial_fit for batches that hold only some classes."
            )
        unknown = np.setdiff1d(y, self.classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in the first fit: {unknown.tolist()}; "
                f"known classes are {self.classes.tolist()}."
            )
        encoded = np.searchsorted(self.classes, y).astype(np.int32)
        if self.output_units == 1:
            return encoded.astype(np.float32).reshape(-1, 1)
        if is_sparse_loss(self.loss):
            return encoded
        # categorical cross-entropy, but also MSE, hinge, KL, ...
        return np.eye(len(self.classes), dtype=np.float32)[encoded]

    def class_weights(self, class_weight, y_keras) -> np.ndarray | None:
        """Per-sample weights of ``class_weight`` for the encoded ``y_keras``."""
        if class_weight is None:
            return None
        if self.form == "multilabel":
            raise ValueError(
                "class_weight is for one label per sample; y is a multilabel "
                "indicator matrix. Use sample_weight instead."
            )
        encoded = self.indices(y_keras)
        if class_weight == "balanced":
            weights = compute_class_weight(
                "balanced", classes=np.arange(len(self.classes)), y=encoded
            )
        else:
            unknown = set(class_weight) - set(self.classes.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight names labels that are not classes: "
                    f"{sorted(unknown, key=str)}; classes are {self.classes.tolist()}."
                )
            weights = np.array(
                [class_weight.get(c, 1.0) for c in self.classes.tolist()]
            )
        # Keras' own class_weight does this same multiplication; doing it here
        # works with validation_split and with sample weights alike.
        return weights.astype(np.float32)[encoded]

    def indices(self, y_keras) -> np.ndarray:
        """Class indices of encoded targets."""
        if y_keras.ndim == 1:
            return y_keras.astype(np.int64)
        if y_keras.shape[1] == 1:
            return y_keras[:, 0].astype(np.int64)
        return np.argmax(y_keras, axis=1)

    def labels_for_stratifying(self, y_keras) -> np.ndarray | None:
        return None if self.form == "multilabel" else self.indices(y_keras)

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """``predict_proba`` from the network's outputs (float64)."""
        out = out.astype(np.float64)
        if self.form == "multilabel":
            return out
        if out.shape[1] == 1:  # one sigmoid unit: P(classes[1])
            out = np.hstack([1.0 - out, out])
        # float32 softmax sums to 1 only within ~1e-7; make it exact.
        return out / out.sum(axis=1, keepdims=True)

    def decode(self, proba: np.ndarray):
        """Predictions in the form ``y`` had, from ``probabilities``."""
        if self.form == "multilabel":  # the indicator matrix
            rows = (proba > 0.5).astype(int)
        elif self.form == "one_hot":
            rows = np.eye(len(self.classes), dtype=int)[np.argmax(proba, axis=1)]
        else:
            return self.classes[np.argmax(proba, axis=1)]
        return sp.csr_matrix(rows) if self.sparse else rows

    def to_dict(self) -> dict:
        """Plain values (``classes`` is saved as the estimator's ``classes_``)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "classes"
        }


@dataclass
class RegressionTargets:
    """A regressor's targets: how many columns, and the output layer."""

    n_outputs: int
    ndim: int  # 1: predictions are a vector
    loss: Any
    output_activation: str
    target: str = "regression"

    @property
    def output_units(self) -> int:
        return self.n_outputs

    @classmethod
    def fit(cls, y, *, loss, dtype) -> RegressionTargets:
        y = np.asarray(y, dtype=dtype)
        chosen = "mean_squared_error" if loss is None else loss
        n = 1 if y.ndim == 1 else y.shape[1]
        return cls(n, y.ndim, chosen, regressor_output_for(chosen))

    def encode(self, y, *, dtype) -> np.ndarray:
        y = np.asarray(y, dtype=dtype)
        n = 1 if y.ndim == 1 else y.shape[1]
        if n != self.n_outputs:
            raise ValueError(
                f"y has {n} outputs; the estimator was fitted with {self.n_outputs}."
            )
        return y.reshape(len(y), -1)

    def decode(self, out: np.ndarray) -> np.ndarray:
        return out.ravel() if self.ndim == 1 else out

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def targets_from_dict(values: dict, classes=None):
    """The targets of ``to_dict`` (and the saved ``classes_``)."""
    values = dict(values)
    if values.get("target") == "regression":
        return RegressionTargets(**values)
    if classes is None:
        raise ValueError("a classifier's targets without classes_")
    return ClassTargets(classes=np.asarray(classes), **values)


def _dense_y(y):
    return y.toarray() if sp.issparse(y) else y


def ndim(y) -> int:
    """Dimensions of ``y`` as NumPy reads it (lists of lists too); 1 if ragged."""
    shape = getattr(y, "shape", None)
    if shape is not None:
        return len(shape)
    try:
        return np.asarray(y).ndim
    except (ValueError, TypeError):
        return 1


def _is_multilabel(y) -> bool:
    """Whether ``y`` is a multilabel indicator matrix (scikit-learn's sense)."""
    return ndim(y) == 2 and type_of_target(y) == "multilabel-indicator"


is_multilabel = _is_multilabel


def _one_hot(y, loss) -> bool:
    """Whether ``y`` is the labs' one-hot targets for a one-hot ``loss``."""
    if loss is None or is_sparse_loss(loss) or is_binary_loss(loss):
        return False
    y = np.asarray(y)
    return (
        y.ndim == 2
        and y.shape[1] > 1
        and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


is_one_hot = _one_hot
