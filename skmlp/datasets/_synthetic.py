"""The Keras-intro lab's synthetic two-class data."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state


def make_cosine_classes(
    n_samples_per_class: int = 1000,
    *,
    a: float = 1.0,
    noise: float = 0.0,
    shuffle: bool = True,
    random_state=42,
) -> tuple[np.ndarray, np.ndarray]:
    """Two classes on two cosine curves: ``x2 = cos(x1)`` and ``x2 = a + cos(x1)``.

    ``x1`` is uniform on [-pi, pi]. A logistic regression cannot separate the
    curves well; a hidden layer of a few ReLU units starts to bend its
    boundary around them (the lab's point).

    Parameters
    ----------
    n_samples_per_class : int, default=1000
    a : float, default=1.0
        Vertical offset of class 1.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to ``x2``.
    shuffle : bool, default=True
        Shuffle the rows. The lab stacks class 0 then class 1, so that a
        Keras ``validation_split`` (the last rows) holds class 1 only; pass
        False to reproduce that.
    random_state : int, RandomState or None, default=42

    Returns
    -------
    X : ndarray of shape (2 * n_samples_per_class, 2), float32
    y : ndarray of shape (2 * n_samples_per_class,), int
    """
    rng = check_random_state(random_state)
    x1 = rng.uniform(-np.pi, np.pi, size=2 * n_samples_per_class)
    y = np.repeat([0, 1], n_samples_per_class)
    x2 = np.cos(x1) + a * y + noise * rng.standard_normal(x1.shape)
    X = np.column_stack([x1, x2]).astype(np.float32)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return X, y
