"""The Keras-intro lab's synthetic two-class data."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state


def make_cosine_classes(
    n_samples: int | tuple[int, int] = 2000,
    *,
    a: float = 1.0,
    noise: float = 0.0,
    shuffle: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two classes on two cosine curves: ``x2 = cos(x1)`` and ``x2 = a + cos(x1)``.

    ``x1`` is uniform on [-pi, pi]. A logistic regression cannot separate the
    curves well; a hidden layer of a few ReLU units starts to bend its
    boundary around them (the lab's point). Made the way scikit-learn's
    ``make_moons`` is.

    Parameters
    ----------
    n_samples : int or tuple of (int, int), default=2000
        Points in all, split evenly between the classes (class 1 takes the
        odd one), or the points of each class. The lab uses 1,000 per class.
    a : float, default=1.0
        Vertical offset of class 1.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to ``x2``.
    shuffle : bool, default=True
        Shuffle the rows. The lab stacks class 0 then class 1, so that a
        Keras ``validation_split`` (the last rows) holds class 1 only; pass
        False to reproduce that.
    random_state : int, RandomState or None, default=None
        Seeds the points (and the shuffle) for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float32
    y : ndarray of shape (n_samples,), int

    Examples
    --------
    >>> from skmlp.datasets import make_cosine_classes
    >>> X, y = make_cosine_classes(2000, random_state=0)
    >>> X.shape, y.sum()
    ((2000, 2), np.int64(1000))
    """
    if isinstance(n_samples, numbers.Integral):
        sizes = (n_samples // 2, n_samples - n_samples // 2)
    else:
        sizes = tuple(int(n) for n in n_samples)
        if len(sizes) != 2:
            raise ValueError(
                f"n_samples must be an int or a pair (class 0, class 1); got {n_samples!r}"
            )
    rng = check_random_state(random_state)
    x1 = rng.uniform(-np.pi, np.pi, size=sum(sizes))
    y = np.repeat([0, 1], sizes)
    x2 = np.cos(x1) + a * y + noise * rng.standard_normal(x1.shape)
    X = np.column_stack([x1, x2]).astype(np.float32)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return X, y
