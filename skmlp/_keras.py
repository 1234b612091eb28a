"""Keras, imported in one place, and TensorFlow's threads in joblib workers.

Every module of skmlp that needs Keras imports it from here. Importing it
changes nothing else in the process: no environment variables, no logging
levels, no file descriptors, and TensorFlow is not imported under another
backend. The one setting made is ``_limit_tensorflow_threads`` below.
"""

from __future__ import annotations

import os

import keras
import numpy as np


def _limit_tensorflow_threads() -> None:
    """Follow OMP_NUM_THREADS in TensorFlow's thread pools.

    joblib's process workers (``GridSearchCV(n_jobs=...)``) set OMP_NUM_THREADS
    to their share of the cores; TensorFlow ignores that variable, so without
    this each worker would start one thread per core and the workers would
    fight over the machine. Nothing happens when the variable is not set.
    """
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if keras.backend.backend() != "tensorflow" or not threads.isdigit():
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads)))
    except RuntimeError:
        # TensorFlow was already initialised by the user: keep their setting.
        pass


def to_numpy(x) -> np.ndarray:
    """A Keras variable or backend tensor as a NumPy array.

    On TensorFlow, ``keras.ops.convert_to_numpy`` calls ``np.array`` on a
    tensor whose ``__array__`` predates NumPy 2's ``copy`` argument: a
    DeprecationWarning at every call. The tensor's own ``numpy()`` makes the
    same copy without one.
    """
    if isinstance(x, keras.Variable):
        x = x.value
    if keras.backend.backend() == "tensorflow" and hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(keras.ops.convert_to_numpy(x))


_limit_tensorflow_threads()

__all__ = ["keras", "to_numpy"]
