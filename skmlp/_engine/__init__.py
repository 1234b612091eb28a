"""skmlp's compiled training engine: the epoch loop, backend-neutral.

``train`` runs a fit's epochs on a backend ``Session`` (``_jax``,
``_tensorflow`` or ``_torch``), which owns the weights, the optimizer state
and the data on the device for the fit's duration. This module does what
happens between epochs: Keras callbacks (epoch hooks only), progress,
history, the divergence check and KeyboardInterrupt. The Keras model is
written only where a callback must see it, and at the end.

``unsupported`` says why a configuration must use Keras' own ``model.fit``
instead (``engine="keras"``), or None when the engine can train it.
"""

from __future__ import annotations

import importlib
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

from .._keras import keras, to_numpy
from ._program import Program

__all__ = [
    "Program",
    "train",
    "unsupported",
    "snapshot",
    "restore",
    "EPOCH_CALLBACKS",
    "DivergenceError",
    "TrainingInterrupted",
    "on_accelerator",
]

_BACKENDS = {"jax": "_jax", "tensorflow": "_tensorflow", "torch": "_torch"}

# Keras' own callbacks whose work is done at epoch ends (their batch hooks
# only count steps or are no-ops at the default settings): they run on the
# engine even though their classes define batch hooks.
EPOCH_CALLBACKS = tuple(
    getattr(keras.callbacks, name)
    for name in (
        "EarlyStopping",
        "TensorBoard",
        "ModelCheckpoint",
        "ReduceLROnPlateau",
        "TerminateOnNaN",
        "CSVLogger",
        "History",
        "RemoteMonitor",
    )
)
_BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


class DivergenceError(ValueError):
    """Training produced a non-finite loss."""


class TrainingInterrupted(UserWarning):
    """Ctrl-C ended a training early; the estimator keeps the epochs done."""


def on_accelerator() -> bool:
    """Whether skmlp computes on a GPU or TPU: JAX, on one of those."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.default_backend() != "cpu"


def backend_module():
    name = keras.backend.backend()
    return importlib.import_module(f".{_BACKENDS[name]}", __name__)


def batch_level_callback(callback) -> bool:
    """True for a callback that needs per-batch hooks, which the engine lacks.

    A hook counts when the callback's class overrides it or the instance sets
    it (as ``LambdaCallback`` does for the functions it is given).
    """
    if isinstance(callback, keras.callbacks.ModelCheckpoint):
        return callback.save_freq != "epoch"
    if isinstance(callback, keras.callbacks.TensorBoard):
        return callback.update_freq != "epoch" or bool(callback.profile_batch)
    if isinstance(callback, EPOCH_CALLBACKS):
        return False
    base = keras.callbacks.Callback
    return any(
        hook in vars(callback)
        or getattr(type(callback), hook) is not getattr(base, hook)
        for hook in _BATCH_HOOKS
    )


def unsupported(
    *,
    run_eagerly: bool,
    metrics: Sequence | None,
    callbacks: Sequence,
    routed: Sequence[str],
) -> str | None:
    """Why Keras' ``model.fit`` must train this configuration, or None."""
    if keras.backend.backend() not in _BACKENDS:
        return f"the {keras.backend.backend()!r} backend"
    if run_eagerly:
        return "run_eagerly=True"
    for metric in metrics or ():
        if metric not in ("accuracy", "acc"):
            return f"metric {metric!r} (the engine records loss and accuracy)"
    for callback in callbacks:
        if batch_level_callback(callback):
            return f"callback {type(callback).__name__} has batch-level hooks"
    for name in routed:
        if name.startswith(("compile__", "fit__")):
            return f"routed argument {name} goes to Model.compile/Model.fit"
    return None


def model_weights(model) -> tuple[list, list]:
    """Trainable and BatchNormalization variables, in ``Program`` order."""
    trainable, state = [], []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            trainable += [layer.kernel, layer.bias]
        elif isinstance(layer, keras.layers.BatchNormalization):
            trainable += [layer.gamma, layer.beta]
            state += [layer.moving_mean, layer.moving_variance]
    return trainable, state


def _write(model, params, state, opt_vars) -> None:
    trainable, bn_state = model_weights(model)
    for variables, values in (
        (trainable, params),
        (bn_state, state),
        (model.optimizer.variables, opt_vars),
    ):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)


def _read(model):
    trainable, bn_state = model_weights(model)
    return (
        [v.value for v in trainable],
        [v.value for v in bn_state],
        [v.value for v in model.optimizer.variables],
    )


def snapshot(model) -> tuple:
    """Copies of a model's weights and optimizer state, for ``restore``."""
    return tuple([np.array(to_numpy(v)) for v in values] for values in _read(model))


def restore(model, saved: tuple) -> None:
    _write(model, *saved)


def _best_epoch_keeper(callbacks):
    """An EarlyStopping callback holding a best epoch to restore, or None."""
    for callback in callbacks:
        if (
            isinstance(callback, keras.callbacks.EarlyStopping)
            and callback.restore_best_weights
            and callback.best_weights is not None
        ):
            return callback
    return None


class _Progress(keras.callbacks.Callback):
    """One line per epoch (verbose=2), or a bar that moves per epoch (verbose=1).

    The bar redraws in place only on a terminal or in a notebook; elsewhere
    (a log file) each epoch is a plain line without control characters.
    """

    def __init__(self, epochs: int, verbose: int):
        super().__init__()
        self.epochs, self.verbose = epochs, verbose
        interactive = (
            getattr(sys.stdout, "isatty", lambda: False)() or "ipykernel" in sys.modules
        )
        self.bar = (
            keras.utils.Progbar(epochs, unit_name="epoch")
            if verbose == 1 and interactive
            else None
        )

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.bar is not None:
            self.bar.update(epoch + 1, values=list(logs.items()))
            return
        scores = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        seconds = time.perf_counter() - self.start
        print(
            f"Epoch {epoch + 1}/{self.epochs} - {seconds:.2f}s - {scores}", flush=True
        )


def _logs(sums: np.ndarray, prefix: str, accuracy_name: str | None) -> dict[str, float]:
    logs = {prefix + "loss": float(sums[0] / sums[1])}
    if accuracy_name is not None:
        logs[prefix + accuracy_name] = float(sums[2] / sums[3]) if sums[3] > 0 else 0.0
    return logs


def train(
    model,
    program: Program,
    *,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    hyper: dict[str, float],
    dropout: Sequence[float],
    optimizer_values: Sequence[float] = (),
    epoch_seeds: np.ndarray,
    shuffle: bool,
    callbacks: Sequence,
    verbose: int,
    accuracy_name: str | None,
) -> dict[str, list[float]]:
    """Train ``model`` (compiled, optimizer built) for ``len(epoch_seeds)`` epochs.

    Returns the history of this call. The model's weights and optimizer
    state are written back at the end, and before each epoch-end callback
    (which may change them: the engine reads them back). Raises
    ``DivergenceError`` on a non-finite loss, before the diverged epoch
    reaches the model. A KeyboardInterrupt ends training after the epochs
    done, with a warning.
    """
    hyper_vec = program.hyper_vector(hyper, dropout, optimizer_values)
    params, state, opt_vars = _read(model)
    session = backend_module().Session(
        program, params, state, opt_vars, data, validation, hyper_vec
    )
    epochs = len(epoch_seeds)
    callbacks = list(callbacks)
    if verbose:
        callbacks.append(_Progress(epochs, verbose))
    hooks = keras.callbacks.CallbackList(
        callbacks, model=model, epochs=epochs, verbose=0
    )
    sync = any(not isinstance(cb, _Progress) for cb in callbacks)
    history: dict[str, list[float]] = {}
    model.stop_training = False
    interrupted = diverged = False
    try:
        hooks.on_train_begin()
        for epoch in range(epochs):
            hooks.on_epoch_begin(epoch)
            logs = _logs(session.epoch(epoch_seeds[epoch], shuffle), "", accuracy_name)
            if validation is not None:
                logs.update(_logs(session.evaluate(), "val_", accuracy_name))
            if not np.isfinite(logs["loss"]):
                keeper = _best_epoch_keeper(callbacks)
                if keeper is None:
                    raise DivergenceError(
                        f"training diverged at epoch {epoch + 1}: the loss became "
                        f"{logs['loss']}. Try a lower learning_rate, or scale the "
                        f"inputs (for images: pixel values to [0, 1])."
                    )
                # As scikit-learn's MLP: stop, and keep the best epoch (which
                # early stopping restores at the end of training).
                warnings.warn(
                    f"training diverged at epoch {epoch + 1} (the loss became "
                    f"{logs['loss']}): stopped, and early stopping restored its "
                    f"best epoch, {keeper.best_epoch + 1}. Try a lower "
                    f"learning_rate, or scale the inputs.",
                    UserWarning,
                    stacklevel=3,
                )
                diverged = True
                break
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if sync:
                _write(model, *session.get())
            hooks.on_epoch_end(epoch, logs)
            if sync:  # a callback may have changed the weights or learning rate
                session.set(*_read(model))
            if model.stop_training:
                break
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(
            f"training interrupted: the estimator keeps the {len(history.get('loss', []))} "
            f"epochs completed.",
            TrainingInterrupted,
            stacklevel=3,
        )
    finally:
        session.close(interrupted)
    if not diverged:  # else the model holds the last finite epoch
        _write(model, *session.get())
    hooks.on_train_end(logs=None)  # EarlyStopping restores its best weights here
    return history
