"""A fit's data: checked, made dense, seeded, and split into training and validation rows."""

from __future__ import annotations

import contextlib
import numbers
import random

import numpy as np
import scipy.sparse as sp

from ._keras import keras


def seed_from(random_state) -> int:
    """An int seed for one fit, touching no global random generator."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    if random_state is None:  # fresh entropy from the OS
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(random_state.randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(random_state):
    """Seed Keras' global generators for ``engine="keras"``'s ``model.fit``.

    Keras' own fit shuffles with the global generators, so this path alone
    reseeds them; Python's and NumPy's states are given back afterwards.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(random_state)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float32)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float32)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected ({n_samples},)"
            f", one weight per sample."
        )
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    if not np.any(sample_weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight


# The most a sparse X may take once dense for training (the engine trains on
# dense rows); beyond it, reduce the features first (TruncatedSVD).
_MAX_DENSE_BYTES = 4 << 30


def dense(X):
    """``X`` as a dense array; a sparse matrix densified within a bound."""
    if not sp.issparse(X):
        return X
    size = X.shape[0] * X.shape[1] * X.dtype.itemsize
    if size > _MAX_DENSE_BYTES:
        raise ValueError(
            f"sparse X of shape {X.shape} would take {size / 2**30:.1f} GiB once "
            f"dense, which the network trains on; reduce its features first, for "
            f"example with sklearn.decomposition.TruncatedSVD in the pipeline."
        )
    return X.toarray()


def random_rows_last(X, y_keras, sample_weight, n_train, labels, seed_sequence):
    """The rows reordered so that the last ``len(X) - n_train`` are a random
    sample, stratified by ``labels`` where every class has two rows."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(X))
    stratify = labels
    if labels is not None and np.unique(labels, return_counts=True)[1].min() < 2:
        stratify = None
    state = int(seed_sequence.generate_state(1)[0])
    try:
        train, held = train_test_split(
            rows, train_size=n_train, stratify=stratify, random_state=state
        )
    except ValueError:  # too few rows per class for a stratified split
        train, held = train_test_split(rows, train_size=n_train, random_state=state)
    order = np.concatenate([train, held])
    weights = None if sample_weight is None else sample_weight[order]
    return X[order], y_keras[order], weights
