"""The Keras callbacks one fit trains with: copies of the user's, and skmlp's own."""

from __future__ import annotations

import copy
import itertools
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from ._keras import keras
from ._validation import layer_sizes


def copy_callbacks(callbacks: Iterable[Any] | None) -> list:
    """Deep copies of ``callbacks``, for one fit.

    A fit works on copies so that the user's callback objects never hold a
    trained model, and the estimator stays clonable and picklable.

    Parameters
    ----------
    callbacks : iterable of keras.callbacks.Callback, or None
        The estimator's ``callbacks`` parameter.

    Returns
    -------
    list
        One deep copy of each, in order (empty for None).

    Raises
    ------
    TypeError
        When a callback cannot be deep-copied: naming its index and class
        and the fix, with ``copy.deepcopy``'s error as its cause.
    """
    copies = []
    for index, callback in enumerate(callbacks or ()):
        try:
            copies.append(copy.deepcopy(callback))
        except Exception as exc:  # deepcopy fails in many ways (pickling, recursion)
            kind = type(callback)
            raise TypeError(
                f"callbacks[{index}], a {kind.__module__}.{kind.__qualname__}, "
                f"cannot be copied ({type(exc).__name__}: {exc}). Each fit trains "
                f"with a deep copy of every callback, so that the estimator stays "
                f"clonable and picklable: give it a callback that copy.deepcopy "
                f"can copy, for example by opening what it cannot copy (a lock, a "
                f"file, a connection) in on_train_begin rather than in __init__, "
                f"or by defining __deepcopy__."
            ) from exc
    return copies


def fit_callbacks(estimator) -> tuple[list, str | None]:
    """The callbacks one fit of ``estimator`` trains with, and TensorBoard's folder.

    The user's (copies), then early stopping and TensorBoard where the
    estimator's parameters ask for them; the folder is None without
    TensorBoard.
    """
    # Copies, so the user's callback objects never hold a trained model and
    # the estimator stays clonable and picklable.
    callbacks = copy_callbacks(estimator.callbacks)
    if estimator.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=estimator.patience,
                min_delta=estimator.min_delta,
                restore_best_weights=True,
            )
        )
    log_dir = None
    if estimator.tensorboard_dir is not None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run = f"{stamp}-{_run_name(estimator)}-{uuid.uuid4().hex[:6]}"
        log_dir = os.path.join(os.fspath(estimator.tensorboard_dir), run)
        callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1))
    return callbacks, log_dir


def _run_name(estimator) -> str:
    """A short, readable name of this configuration for TensorBoard runs."""
    # Runs of equal sizes are shortened: (128,) * 10 -> "128x10".
    runs = [
        (size, len(list(group)))
        for size, group in itertools.groupby(layer_sizes(estimator.hidden_layer_sizes))
    ]
    sizes = "-".join(f"{s}x{n}" if n > 1 else str(s) for s, n in runs) or "none"
    activation = (
        estimator.activation
        if isinstance(estimator.activation, str)
        else "-".join(estimator.activation)
    )
    optimizer = (
        estimator.optimizer if isinstance(estimator.optimizer, str) else "custom"
    )
    return f"h{sizes}_{activation}_{optimizer}"
