"""The copies of the user's Keras callbacks that one fit trains with."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any


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
