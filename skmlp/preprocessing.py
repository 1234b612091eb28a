"""Pipeline steps for the labs' data: IDXLoader reads IDX files, SubsetSplitter
takes the labs' 33% subset."""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._constraints import Boolean, InstanceOf, Interval, NoneValue
from ._validation import check_params
from .datasets import load_idx, pixel_names, read_idx_header, to_features

__all__ = ["IDXLoader", "SubsetSplitter"]


def _paths(X) -> list:
    if isinstance(X, (str, os.PathLike)):
        return [X]
    if isinstance(X, (Sequence, np.ndarray)):
        paths = list(np.ravel(np.asarray(X, dtype=object)))
        if paths and all(isinstance(p, (str, os.PathLike)) for p in paths):
            return paths
    raise TypeError(
        f"IDXLoader takes an IDX file path or a list of paths; got {type(X).__name__}. "
        f"For arrays already in memory, leave IDXLoader out of the pipeline."
    )


class IDXLoader(TransformerMixin, BaseEstimator):
    """Load IDX image files as rows of a feature matrix (a pipeline's first step).

    ``transform`` takes a path, or a list of paths whose samples are stacked
    in order, and returns the images, flattened and scaled as the labs do
    (``reshape(60000, 784)`` and ``/ 255``). It keeps no state from the
    data; ``fit`` only reads the files' headers, so that
    ``get_feature_names_out`` knows the image shape.

    Parameters
    ----------
    flatten : bool, default=True
        Flatten each image to one row (28x28 -> 784 columns).
    scale : bool, default=True
        Turn 0-255 ``uint8`` pixels into ``float32`` in [0, 1]. Files of
        other element types are refused with ``scale=True``.

    Attributes
    ----------
    sample_shape_ : tuple of int
        Shape of one sample (``(28, 28)`` for MNIST), set by ``fit``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmlp import IDXLoader, MLPKerasClassifier
    >>> from skmlp.datasets import load_idx
    >>> pipe = make_pipeline(IDXLoader(), MLPKerasClassifier())
    >>> y = load_idx("mnist/train-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> pipe.fit("mnist/train-images-idx3-ubyte.gz", y)  # doctest: +SKIP
    >>> pipe.score("mnist/t10k-images-idx3-ubyte.gz", y_test)  # doctest: +SKIP
    """

    _skmlp_constraints = {"flatten": [Boolean()], "scale": [Boolean()]}

    def __init__(self, flatten: bool = True, scale: bool = True):
        self.flatten = flatten
        self.scale = scale

    def fit(self, X, y=None):
        """Read the headers of the file(s) ``X``; the data is not loaded."""
        check_params(self, self._skmlp_constraints)
        shapes = {tuple(read_idx_header(p)[1][1:]) for p in _paths(X)}
        if len(shapes) != 1:
            raise ValueError(
                f"the IDX files hold samples of different shapes: {sorted(shapes)}"
            )
        self.sample_shape_ = shapes.pop()
        return self

    def transform(self, X) -> np.ndarray:
        """Load, stack, flatten and scale the samples of the file(s) ``X``."""
        check_params(self, self._skmlp_constraints)
        paths = _paths(X)
        arrays = [load_idx(p) for p in paths]
        if len({a.shape[1:] for a in arrays}) != 1:
            raise ValueError("the IDX files hold samples of different shapes")
        data = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        try:
            return to_features(data, flatten=self.flatten, scale=self.scale)
        except ValueError as exc:
            raise ValueError(f"{paths[0]}: {exc}") from None

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``pixel_0`` ... ``pixel_{n-1}``, one per column of the output."""
        check_is_fitted(self, "sample_shape_")
        return pixel_names(self.sample_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


class SubsetSplitter(BaseEstimator):
    """The labs' "train on 33% of the data" step, reproducible and tunable.

    With ``stratify=False`` and ``random_state=7`` it picks exactly the rows of
    the labs' ``train_test_split(X, y, test_size=0.67, random_state=7)``.
    Three ways to use it:

    - ``fit_resample(X, y)`` returns the subset. imbalanced-learn's
      ``Pipeline`` calls it while fitting only, so a pipeline
      ``[SubsetSplitter(), MLPKerasClassifier()]`` trains on the subset and
      predicts on every row it is given.
    - As ``cv=`` of ``GridSearchCV`` or ``cross_val_score``: one split, the
      subset for training and the other rows for validation.
    - ``fraction`` is a parameter, so a search can tune it
      (``subset__fraction``).

    Parameters
    ----------
    fraction : float, default=0.33
        Share of the rows kept, in (0, 1).
    stratify : bool, default=True
        Keep each class's share of the rows (to within one row per class).
        Needs ``y``.
    random_state : int, RandomState or None, default=None
        Which rows are drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skmlp import SubsetSplitter
    >>> X, y = np.arange(200).reshape(100, 2), np.arange(100) % 2
    >>> X_sub, y_sub = SubsetSplitter(random_state=7).fit_resample(X, y)
    >>> X_sub.shape, int(y_sub.sum())
    ((33, 2), 16)
    """

    _skmlp_constraints = {
        "fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "stratify": [Boolean()],
        "random_state": [
            NoneValue(),
            Interval(numbers.Integral, 0, None),
            InstanceOf(np.random.RandomState),
        ],
    }

    def __init__(
        self, fraction: float = 0.33, stratify: bool = True, random_state=None
    ):
        self.fraction = fraction
        self.stratify = stratify
        self.random_state = random_state

    def _subset_and_rest(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        check_params(self, self._skmlp_constraints)
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if self.stratify and y is None:
            raise ValueError("stratify=True needs y; pass y, or set stratify=False.")
        return train_test_split(
            np.arange(n_samples),
            # As the labs write it (test_size=0.67), so the same rows come out;
            # rounding drops the float noise of 1 - 0.33.
            test_size=round(1.0 - self.fraction, 12),
            stratify=np.asarray(y) if self.stratify else None,
            random_state=self.random_state,
        )

    def fit_resample(self, X, y):
        """Return ``(X_subset, y_subset)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        X_subset, y_subset
            The same types as given, with ``n - ceil((1 - fraction) * n)`` rows,
            as ``train_test_split(test_size=1 - fraction)`` gives.
        """
        subset, _ = self._subset_and_rest(X, y)
        return _safe_indexing(X, subset), _safe_indexing(y, subset)

    def split(self, X, y=None, groups=None):
        """Yield one ``(subset_indices, other_indices)`` pair."""
        yield self._subset_and_rest(X, y)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Always 1: one subset, one validation remainder."""
        return 1
