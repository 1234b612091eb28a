"""Import Keras once, quietly, with threads set for the process it runs in.

Every module of skmlp that needs Keras imports it from here, so that the
environment is prepared before TensorFlow (or JAX) starts.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _quiet_native_stderr(quiet: bool):
    """Hide what native code writes to file descriptor 2 while Keras loads.

    TensorFlow prints its start-up banner (oneDNN, CUDA probing) before its
    logging is set up, so TF_CPP_MIN_LOG_LEVEL cannot stop it; Python-level
    errors are unaffected, they are raised after the descriptor is restored.
    """
    if not quiet:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some notebook front ends)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# TensorFlow's chatter is noise for the notebook users of skmlp. A user who
# sets TF_CPP_MIN_LOG_LEVEL (0 shows everything) gets what that level says;
# the start-up banner is INFO, hidden from level 1 up.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    _log_level = int(os.environ["TF_CPP_MIN_LOG_LEVEL"])
except ValueError:
    _log_level = 0

with _quiet_native_stderr(quiet=_log_level >= 1):
    import keras

    try:
        # Keras' data pipelines load TensorFlow when it is installed, whatever
        # the backend; load it here, quietly, rather than noisily at fit time.
        import tensorflow as tf
    except ImportError:
        tf = None
    if tf is not None and _log_level >= 2:
        # Every new network gets new tf.functions, which TensorFlow reports
        # as "retracing" once a grid search has built a few; not a problem.
        tf.get_logger().setLevel("ERROR")


def _limit_tensorflow_threads() -> None:
    """Follow OMP_NUM_THREADS in TensorFlow's thread pools.

    joblib's process workers (``GridSearchCV(n_jobs=...)``) set OMP_NUM_THREADS
    to their share of the cores; TensorFlow ignores that variable, so without
    this each worker would start one thread per core and the workers would
    fight over the machine.
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


_limit_tensorflow_threads()

__all__ = ["keras"]
