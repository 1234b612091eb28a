"""Many networks of one ``Program`` trained together, as one compiled program.

``train_many`` is ``train`` for a group of fits prepared by their own
estimators (``_BaseMLP._begin_fit``): the JAX trainer's epoch function mapped
with ``jax.vmap`` over the members' stacked weights, optimizer states, seeds,
hyper-parameters and rows. The data set is on the device once per distinct
data set (a CV fold, an ensemble's training set); each member reads its own
rows of it. Each member sees what its own fit would see: the same initial
weights, the same shuffles and dropout masks (JAX's random bits do not
depend on how far a member's rows are padded), the same validation rows.

Per member, as in ``train``: history, the divergence check, and early
stopping with Keras' ``EarlyStopping`` rules (a stopped member's weights are
frozen while the others go on; its best epoch's weights are restored at the
end). A member that diverges gets a ``DivergenceError`` and the others go on.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from .._keras import keras
from . import DivergenceError, _logs, _read, _write
from ._jax import enable_persistent_cache, to_device, trainer
from ._program import steps_bucket


def early_stopping_of(callbacks) -> tuple[int, float] | None | bool:
    """(patience, min_delta) of the one EarlyStopping a batched fit can run.

    None when there is no callback; False when the callbacks are anything
    else (the member then trains alone on ``train``).
    """
    if not callbacks:
        return None
    if len(callbacks) != 1 or type(callbacks[0]) is not keras.callbacks.EarlyStopping:
        return False
    cb = callbacks[0]
    if (
        cb.monitor != "val_loss"
        or cb.mode not in ("auto", "min")
        or cb.baseline is not None
        or cb.start_from_epoch != 0
        or not cb.restore_best_weights
    ):
        return False
    return float(cb.patience), abs(float(cb.min_delta))  # inf: never stops


def _writer(model, m: int, params, state, opt_vars):
    """Writes member ``m``'s weights (of this epoch) into its model, when called."""

    def write():
        host = jax.device_get(
            tuple([v[m] for v in part] for part in (params, state, opt_vars))
        )
        _write(model, *([np.asarray(v) for v in part] for part in host))

    return write


@jax.jit
def _select(mask, new, old):
    """Per member (the leading axis), ``new`` where ``mask`` else ``old``."""

    def pick(a, b):
        return jnp.where(mask.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, new, old)


def _stack(arrays_per_member):
    return [
        jax.device_put(np.stack(values))
        for values in zip(*arrays_per_member, strict=True)
    ]


class _Rows:
    """Members' rows of the shared data set, padded to one length."""

    def __init__(self, parts, batch_size, ys, ws):
        self.n = np.array([len(rows) for rows in parts], dtype=np.int32)
        longest = max(int(self.n.max()), 1)
        size = steps_bucket(-(-longest // batch_size)) * batch_size
        self.rows = jax.device_put(
            np.stack([np.pad(rows, (0, size - len(rows))) for rows in parts])
        )

        def pad(a):
            return np.pad(a, [(0, size - a.shape[0])] + [(0, 0)] * (a.ndim - 1))

        self.Y = jax.device_put(np.stack([pad(y) for y in ys]))
        self.W = jax.device_put(np.stack([pad(w) for w in ws]))


def train_many(models, jobs, *, data_ids, verbose: int = 0, epoch_hooks=None):
    """Train the members' networks together; a history or an exception each.

    ``jobs`` are the members' engine arguments (``_BaseMLP._engine_arguments``,
    one ``Program`` and ``shuffle`` for all), plus ``X`` and ``n_train``.
    Members with equal ``data_ids`` share their ``X``. The trained weights are
    written to each member's model; a failed member's model is left as is.
    ``epoch_hooks``: per member, None or ``hook(write)`` called at each of its
    epochs' end, ``write()`` putting that epoch's weights into its model;
    True from a hook stops that member.
    """
    enable_persistent_cache()
    program = jobs[0]["program"]
    shuffle = jobs[0]["shuffle"]
    run = trainer(program)
    M = len(jobs)

    # One device copy of each distinct data set (a validation set of the
    # user's own included: one object, the same for every fold); members
    # index into it.
    offsets, blocks, total = {}, [], 0

    def hold(key, X):
        nonlocal total
        if key not in offsets:
            offsets[key] = total
            blocks.append(X)
            total += X.shape[0]

    own = [  # validation rows of the user's own, not the last rows of X
        j["validation"] is not None and j["n_train"] == j["X"].shape[0] for j in jobs
    ]
    for job, data_id, own_set in zip(jobs, data_ids, own, strict=True):
        hold(data_id, job["X"])
        if own_set:
            hold(("val", id(job["validation"][0])), job["validation"][0])
    X_all = to_device(*blocks)

    def rows(key, start, stop):
        return np.arange(start, stop, dtype=np.int32) + offsets[key]

    def val_rows_of(job, data_id, own_set):
        if own_set:
            X_val = job["validation"][0]
            return rows(("val", id(X_val)), 0, X_val.shape[0])
        return rows(data_id, job["n_train"], job["X"].shape[0])

    train_rows = _Rows(
        [rows(d, 0, j["n_train"]) for j, d in zip(jobs, data_ids, strict=True)],
        program.batch_size,
        [j["data"][1] for j in jobs],
        [j["data"][2] for j in jobs],
    )
    has_val = np.array([j["validation"] is not None for j in jobs])
    val_rows = None
    if has_val.any():
        empty_y = jobs[0]["data"][1][:0]
        empty_w = jobs[0]["data"][2][:0]
        val_rows = _Rows(
            [val_rows_of(j, d, o) for j, d, o in zip(jobs, data_ids, own, strict=True)],
            program.batch_size,
            [empty_y if j["validation"] is None else j["validation"][1] for j in jobs],
            [empty_w if j["validation"] is None else j["validation"][2] for j in jobs],
        )

    hyper = jax.device_put(
        np.stack(
            [
                program.hyper_vector(
                    j["hyper"], j["dropout"], j.get("optimizer_values", ())
                )
                for j in jobs
            ]
        )
    )
    # One transfer of every member's initial state (not one wait per array).
    read = jax.device_get([_read(model) for model in models])
    params = _stack([[np.asarray(v) for v in r[0]] for r in read])
    state = _stack([[np.asarray(v) for v in r[1]] for r in read])
    opt_vars = _stack([[np.asarray(v) for v in r[2]] for r in read])

    epochs = np.array([len(j["epoch_seeds"]) for j in jobs])
    E = int(epochs.max())
    seeds = np.zeros((M, E, 2), dtype=np.uint32)
    for m, job in enumerate(jobs):
        seeds[m, : epochs[m]] = job["epoch_seeds"]
    stopping = [early_stopping_of(j["callbacks"]) for j in jobs]
    watch = np.array([s is not None for s in stopping])

    live = np.ones(M, dtype=bool)
    errors: list[BaseException | None] = [None] * M
    histories: list[dict[str, list[float]]] = [{} for _ in range(M)]
    best_loss = np.full(M, np.nan)
    wait = np.zeros(M, dtype=int)
    best = None  # (params, state) of each watched member's best epoch
    for epoch in range(E):
        training = live & (epoch < epochs)
        if not training.any():
            break
        start = time.perf_counter()
        n = jax.device_put(np.where(training, train_rows.n, 0))
        *carry, sums = run.epoch_many(
            params, state, opt_vars, X_all, train_rows.rows, train_rows.Y,
            train_rows.W, n, hyper, jax.device_put(seeds[:, epoch]), shuffle,
        )  # fmt: skip
        sums = np.asarray(sums, dtype=np.float64)
        params, state, opt_vars = carry
        val_sums = None
        if val_rows is not None:
            val_n = jax.device_put(np.where(training & has_val, val_rows.n, 0))
            val_sums = np.asarray(
                run.evaluate_many(
                    params, state, X_all, val_rows.rows, val_rows.Y, val_rows.W,
                    val_n, hyper,
                ),
                dtype=np.float64,
            )  # fmt: skip
        improved = np.zeros(M, dtype=bool)
        for m in np.flatnonzero(training):
            accuracy = jobs[m]["accuracy_name"]
            logs = _logs(sums[m], "", accuracy)
            if has_val[m]:
                logs.update(_logs(val_sums[m], "val_", accuracy))
            if not np.isfinite(logs["loss"]):
                errors[m] = DivergenceError(
                    f"training diverged at epoch {epoch + 1}: the loss became "
                    f"{logs['loss']}. Try a lower learning_rate, or scale the inputs "
                    f"(for images: pixel values to [0, 1])."
                )
                live[m] = False
                continue
            for key, value in logs.items():
                histories[m].setdefault(key, []).append(value)
            if epoch_hooks is not None and epoch_hooks[m] is not None:
                write = _writer(models[m], m, params, state, opt_vars)
                if epoch_hooks[m](write):
                    live[m] = False
            if watch[m]:  # Keras' EarlyStopping.on_epoch_end, per member
                patience, min_delta = stopping[m]
                current = logs.get("val_loss")
                wait[m] += 1
                if epoch == 0 or current + min_delta < best_loss[m]:
                    best_loss[m], wait[m], improved[m] = current, 0, True
                elif wait[m] >= patience and epoch > 0:
                    live[m] = False
        if improved.any():
            mask = jax.device_put(improved)
            best = (
                (params, state)
                if best is None
                else _select(mask, (params, state), best)
            )
        if verbose:
            done = int(training.sum())
            mean = np.nanmean(
                [h["loss"][-1] for h in histories if len(h.get("loss", [])) > epoch]
                or [np.nan]
            )
            print(
                f"Epoch {epoch + 1}/{E} - {time.perf_counter() - start:.2f}s - "
                f"{done} networks - mean loss: {mean:.4f}",
                flush=True,
            )
    if best is not None:  # EarlyStopping.on_train_end: restore the best weights
        params, state = _select(jax.device_put(watch), best, (params, state))

    host = jax.device_get((params, state, opt_vars))
    results = []
    for m, model in enumerate(models):
        if errors[m] is not None:
            results.append(errors[m])
            continue
        _write(model, *([np.asarray(v[m]) for v in part] for part in host))
        results.append(histories[m])
    return results
