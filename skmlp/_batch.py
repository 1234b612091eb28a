"""Networks of one structure trained together: the work of one task.

A search's, cross-validation's or ensemble's plan (``_evaluation``) hands a
worker a group of members, each an unfitted skmlp estimator with its
training data. ``train_members`` prepares each exactly as its own ``fit``
would (``_BaseMLP._begin_fit``), trains those that share a compiled program
together (``_engine._many``), finishes each (``_end_fit``) and trains any
member that cannot join a batch on its own. The constants below are the
fixed rule for when batching pays (measured in ``benchmarks/batched.py``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from typing import Any

import joblib
import numpy as np
import sklearn

from ._engine import on_accelerator
from ._keras import keras
from ._network import network_dtype
from ._params import PER_MEMBER
from ._sklearn_callbacks import MemberTask, fit_under
from ._validation import layer_sizes

# Up to this much arithmetic per training step (multiply-adds per network:
# batch size x the weights of the Dense layers), a CPU trains networks faster
# together than one after another: the saving in per-step overhead outweighs
# batched matrix products' lower efficiency there. Measured with
# benchmarks/batched.py on 2 cores (docs/performance.md): 8 networks at 15M
# train 1.3x faster together, at 34M 1.45x slower.
CPU_BATCH_MAX_WORK = 20_000_000
# And only groups of at least this many networks: three trained together on
# a CPU took as long as one after another, or 5% longer (the labs' soft vote
# on MNIST, a vote on digits); eight took 0.83-0.97x (benchmarks/batched.py).
CPU_BATCH_MIN_MEMBERS = 4


@dataclasses.dataclass
class Member:
    """One network to train: an unfitted skmlp estimator and its data.

    ``data_id`` is equal for members whose ``X`` is the same data (one fold,
    one ensemble's training set): it is held on the device once.
    """

    estimator: Any
    X: Any
    y: Any
    sample_weight: Any = None
    data_id: Any = None
    # fit's X_val, y_val and sample_weight_val (the same objects for every
    # member that validates on the same set), or None.
    validation: tuple | None = None

    def fit_params(self) -> dict:
        """The member's fit parameters, as its own ``fit`` takes them."""
        params = {"sample_weight": self.sample_weight}
        if self.validation is not None:
            X_val, y_val, weights = self.validation
            params.update(X_val=X_val, y_val=y_val, sample_weight_val=weights)
        return params


def available() -> bool:
    """Whether this process can train networks together (the JAX backend)."""
    return keras.backend.backend() == "jax"


def signature(estimator) -> str | None:
    """Equal for skmlp estimators whose networks may share a compiled program.

    Parameters the program takes as inputs, or handles per member, do not
    count (the table's ``per_member`` column). None where a parameter cannot
    be hashed (a callback holding a lambda): such a network trains alone.
    """
    params = estimator.get_params(deep=False)
    shared = {k: v for k, v in params.items() if k not in PER_MEMBER}
    # Whether momentum is zero is structure (no momentum slots); where dropout
    # sits is not (``train_members`` trains the union of the layouts).
    shared["momentum>0"] = params["momentum"] > 0
    try:
        return joblib.hash((type(estimator).__qualname__, shared))
    except Exception:
        return None


def pays(estimator, n_features: int, n_outputs: int) -> bool:
    """Whether batching this estimator's network pays (before preparing it).

    The same rule as ``_batching_pays`` on the estimator's parameters and the
    data's shape; False for parameters its own fit will refuse.
    """
    if on_accelerator():
        return True
    try:
        widths = (n_features, *layer_sizes(estimator.hidden_layer_sizes), n_outputs)
        work = int(estimator.batch_size) * sum(
            a * b for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
    except (TypeError, ValueError):
        return False
    return work <= CPU_BATCH_MAX_WORK


def train_members(
    members: list[Member],
    *,
    max_batch=None,
    verbose: int = 0,
    contexts: list | None = None,
    caller=None,
) -> list[tuple[Any, float]]:
    """Train ``members``; (fitted estimator or its exception, seconds) each.

    Each member's own estimator is fitted in place. Members whose prepared
    networks share a program train together when the group pays (see the
    constants above); the others train one by one, through ``fit``. The
    seconds are each member's share of its batch's time. ``contexts``: per
    member, the scikit-learn callback task its fit belongs to (or None), of
    the search or ensemble ``caller``.
    """
    from ._engine import _many

    contexts = contexts or [None] * len(members)

    results: list = [None] * len(members)
    converted: dict[Any, Any] = {}
    finite: dict[Any, bool] = {}
    prepared = defaultdict(list)
    for index, member in enumerate(members):
        X = member.X
        estimator = member.estimator
        data_key = None
        if isinstance(X, np.ndarray) and member.data_id is not None:
            # One copy per data set in the networks' float type, which every
            # member's validation then keeps as it is (and the engine holds
            # once), checked for NaN and infinity once (else each member
            # raises its own error).
            try:
                dtype = network_dtype(estimator.dtype, X)
            except ValueError:  # the member's own fit says why
                dtype = None
            if dtype is not None:
                data_key = (member.data_id, dtype)
                if data_key not in converted:
                    converted[data_key] = np.ascontiguousarray(X, dtype=dtype)
                    finite[data_key] = bool(np.isfinite(converted[data_key].sum()))
                X = converted[data_key]
        validation = member.validation
        if validation is not None and data_key is not None:
            # The validation set in the same float type, once for all members
            # (the engine then holds it once).
            val_key = ("val", id(validation[0]), data_key[1])
            if val_key not in converted:
                converted[val_key] = (
                    validation[0],  # kept alive: its id is the key
                    np.ascontiguousarray(validation[0], dtype=data_key[1]),
                )
            validation = (converted[val_key][1], *validation[1:])
        start = time.perf_counter()
        try:
            with sklearn.config_context(
                assume_finite=finite.get(data_key, False)
                or sklearn.get_config()["assume_finite"]
            ):
                job = estimator._begin_fit(
                    X,
                    member.y,
                    member.sample_weight,
                    epochs=estimator.epochs,
                    reset=True,
                    validation=validation,
                )
        except Exception as error:  # the same error the member's fit raises
            results[index] = (error, time.perf_counter() - start)
            continue
        if (
            job.engine is None
            or _many.early_stopping_of(job.engine["callbacks"]) is False
            or not _batching_pays(job.engine["program"])
        ):
            continue  # trained alone, below
        data_id = member.data_id
        if job.X is not X or data_id is None:
            data_id = ("own", index)  # the fit made data of its own
        # Networks that differ only in where dropout sits train as one
        # program (below): a rate of 0 leaves a layer's output as it is.
        program = job.engine["program"]
        unmasked = dataclasses.replace(
            program, dropout_layers=(False,) * len(program.hidden)
        )
        group = (unmasked.key, job.engine["shuffle"])
        prepared[group].append((index, data_id, job, time.perf_counter() - start))

    for entries in prepared.values():
        if len(entries) < CPU_BATCH_MIN_MEMBERS and not on_accelerator():
            continue  # trained one after another, below
        program = entries[0][2].engine["program"]
        layouts = [job.engine["program"].dropout_layers for _, _, job, _ in entries]
        if len(set(layouts)) > 1:
            program = dataclasses.replace(
                program, dropout_layers=tuple(map(any, zip(*layouts, strict=True)))
            )
        size = _cap(program, [job for _, _, job, _ in entries], max_batch)
        for first in range(0, len(entries), size):
            chunk = entries[first : first + size]
            if verbose:
                layers = "-".join(
                    map(
                        str,
                        (program.n_features, *program.hidden, program.output_units),
                    )
                )
                print(
                    f"[skmlp] training {len(chunk)} networks {layers} together"
                    f" on {_device_name()}",
                    flush=True,
                )
            start = time.perf_counter()
            tasks = [_member_task(members[i], contexts[i], caller) for i, *_ in chunk]
            outcomes = _many.train_many(
                [members[i].estimator.model_ for i, _, _, _ in chunk],
                [
                    dict(j.engine, X=j.X, n_train=j.n_train, program=program)
                    for _, _, j, _ in chunk
                ],
                data_ids=[data_id for _, data_id, _, _ in chunk],
                verbose=max(members[i].estimator.verbose for i, _, _, _ in chunk),
                epoch_hooks=[
                    _epoch_hook(members[i], t)
                    for (i, *_), t in zip(chunk, tasks, strict=True)
                ]
                if any(tasks)
                else None,
            )
            share = (time.perf_counter() - start) / len(chunk)
            for (index, _, job, before), outcome, task in zip(
                chunk, outcomes, tasks, strict=True
            ):
                if not isinstance(outcome, BaseException):
                    outcome = members[index].estimator._end_fit(job, outcome)
                if task is not None:
                    task.end()
                results[index] = (outcome, before + share)

    for index, member in enumerate(members):
        if results[index] is None:  # not batched: its own fit, from the start
            start = time.perf_counter()
            try:
                fitted = fit_under(
                    contexts[index],
                    caller=caller,
                    estimator=member.estimator,
                    X=member.X,
                    y=member.y,
                    fit=lambda m=member: m.estimator.fit(m.X, m.y, **m.fit_params()),
                )
            except Exception as error:
                fitted = error
            results[index] = (fitted, time.perf_counter() - start)
    return results


def _member_task(member: Member, context, caller):
    """The member's scikit-learn callback task, or None (no callbacks)."""
    if context is None:
        return None
    return MemberTask(
        context,
        caller=caller,
        estimator=member.estimator,
        X=member.X,
        y=member.y,
        epochs=member.estimator.epochs,
    )


def _epoch_hook(member: Member, task):
    """What ``_many.train_many`` calls at each of the member's epochs' end."""
    if task is None:
        return None

    def hook(write) -> bool:
        def fitted() -> dict:
            write()
            return member.estimator._current_state()

        return task.epoch_end(fitted)

    return hook


def _device():
    """The device this thread's JAX work goes to (``jax.default_device``)."""
    import jax

    device = jax.config.jax_default_device
    if device is None:
        return jax.devices()[0]
    return jax.devices(device)[0] if isinstance(device, str) else device


def _device_name() -> str:
    device = _device()
    return f"{device.platform}:{device.id}"


def _batching_pays(program) -> bool:
    """The fixed rule for where to train together (see docs/performance.md).

    On an accelerator, always: a small network leaves it mostly idle. On a
    CPU, only networks whose training step is small, where per-step overhead
    dominates and batching saves it.
    """
    if on_accelerator():
        return True
    return _step_work(program) <= CPU_BATCH_MAX_WORK


def _step_work(program) -> int:
    widths = (program.n_features, *program.hidden, program.output_units)
    return program.batch_size * sum(
        a * b for a, b in zip(widths[:-1], widths[1:], strict=True)
    )


def _cap(program, jobs, max_batch) -> int:
    """How many members to train together within the memory at hand."""

    floatx = np.dtype(program.dtype).itemsize
    n_weights = sum(int(np.prod(s)) for s in program.trainable_shapes())
    widths = (*program.hidden, program.output_units)
    rows = max(job.X.shape[0] for job in jobs)
    # Weights, gradients, optimizer slots, best-epoch copies and the step's
    # activations (kept for the backward pass), plus each member's targets,
    # weights and row indices.
    per_member = floatx * (6 * n_weights + 4 * program.batch_size * sum(widths))
    per_member += 4 * rows * (2 + max(program.output_units, 1))
    device = _device()
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        budget = (stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2
    else:
        try:
            budget = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
        except (ValueError, OSError):
            budget = 1 << 30
    cap = max(1, int(budget // max(per_member, 1)))
    return min(cap, max_batch) if max_batch else cap
