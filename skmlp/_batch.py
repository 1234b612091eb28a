"""Fits trained together, handed to scikit-learn's own fitting loops.

skmlp's searches, cross-validation and ensembles (``model_selection``,
``ensemble``) first work out every fit scikit-learn is about to make (each
candidate on each fold, each ensemble member), train the networks that share
a structure together (``_engine._many``), and keep the fitted estimators in
a store. Then scikit-learn's own class runs as usual inside ``serving``: its
clone of the estimator, given the same parameters and data, takes the fitted
state from the store instead of training (``prefitted``). Scores, results,
refits and errors are therefore scikit-learn's own. A fit the store does not
hold (another estimator, data that came out differently) trains as usual.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import time
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import clone

from ._engine import on_accelerator
from ._keras import keras
from ._network import network_dtype
from ._params import PER_MEMBER

_STORE: contextvars.ContextVar[Store | None] = contextvars.ContextVar(
    "skmlp_prefitted", default=None
)

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


_CHUNK = 1 << 24  # bytes per CRC-32 (zlib releases the GIL over each)


def fingerprint(data) -> Any:
    """A checksum of an array's contents (CRC-32s of 16 MiB chunks).

    Every batched fit checksums its data (a search: each fold's training
    set), so large arrays are checksummed in chunks over a few threads.
    """
    if isinstance(data, np.ndarray) and data.dtype != object:
        flat = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        chunks = [flat[i : i + _CHUNK] for i in range(0, flat.size, _CHUNK)]
        if len(chunks) > 1:
            with ThreadPoolExecutor(min(len(chunks), os.cpu_count() or 1, 8)) as pool:
                sums = tuple(pool.map(zlib.crc32, chunks))
        else:
            sums = tuple(map(zlib.crc32, chunks))
        return (data.shape, data.dtype.str, sums)
    return joblib.hash(data)


class Store:
    """Fitted estimators (or errors) by ``Store.key``, and known fingerprints.

    ``prints`` remembers the fingerprint of each array already checksummed
    (by identity, holding the array so that its id is not reused): an
    ensemble's members are fitted on the very arrays the batch trained on.
    """

    def __init__(self):
        self.fits: dict[str, list] = defaultdict(list)
        self.prints: dict[int, tuple[Any, Any]] = {}

    def fingerprint(self, data, remember: bool) -> Any:
        known = self.prints.get(id(data))
        if known is not None and known[0] is data:
            return known[1]
        value = fingerprint(data)
        if remember and data is not None:
            self.prints[id(data)] = (data, value)
        return value

    def key(self, estimator, X, y, sample_weight, *, remember=False) -> str:
        """What identifies one fit: the estimator's class and parameters, the data.

        ``remember``: keep the arrays' fingerprints (the batch's own arrays;
        not the copies scikit-learn makes per fit, which would stay alive).
        """
        return joblib.hash(
            (
                type(estimator).__qualname__,
                estimator.get_params(deep=False),
                *(self.fingerprint(a, remember) for a in (X, y, sample_weight)),
            )
        )


def prefitted(estimator, X, y, sample_weight) -> bool:
    """Give ``estimator`` the fitted state of the same fit trained in a batch.

    Called at the start of ``fit``; False (and nothing done) outside
    ``serving`` or when the store has no such fit. A batched member that
    failed raises its error here, where its own fit would have raised it.
    """
    store = _STORE.get()
    if store is None or not store.fits:
        return False
    try:
        key = store.key(estimator, X, y, sample_weight)
    except Exception:  # unhashable data: fit as usual
        return False
    entries = store.fits.get(key)
    if not entries:
        return False
    entry = entries.pop(0)
    if isinstance(entry, BaseException):
        raise entry
    params = set(estimator._get_param_names()) | {"_routed_params"}
    estimator.__dict__.update(
        {k: v for k, v in entry.__dict__.items() if k not in params}
    )
    return True


@contextlib.contextmanager
def serving(store: Store, meta_estimator=None):
    """Let fits inside this block take their fitted state from ``store``.

    The store is visible in this thread only, so ``meta_estimator`` (a
    search or an ensemble about to call scikit-learn's ``fit``) runs its
    fits here: its ``n_jobs`` is None inside the block.
    """
    token = _STORE.set(store)
    n_jobs = getattr(meta_estimator, "n_jobs", None)
    if meta_estimator is not None:
        meta_estimator.n_jobs = None
    try:
        yield
    finally:
        if meta_estimator is not None:
            meta_estimator.n_jobs = n_jobs
        _STORE.reset(token)


@dataclasses.dataclass
class Member:
    """One fit to make: an unfitted skmlp estimator and its data.

    ``data_id`` is equal for members whose ``X`` is the same data (one fold,
    one ensemble's training set): it is held on the device once.
    """

    estimator: Any
    X: Any
    y: Any
    sample_weight: Any
    data_id: Any
    key: str = ""


def available() -> bool:
    """Whether this process can train networks together (the JAX backend)."""
    return keras.backend.backend() == "jax"


def fit_members(
    members: list[Member], *, n_jobs=None, max_batch=None, verbose: int = 0
) -> tuple[Store, dict]:
    """Train ``members`` in batches; a store for ``serving`` and fit seconds.

    The store maps ``Store.key`` to fitted estimators (or the errors of failed
    fits); the seconds map the same keys to each member's share of its
    batch's time. Members that cannot be batched are left out: their fits
    run as usual later.
    """
    store = Store()
    if len(members) < CPU_BATCH_MIN_MEMBERS and not on_accelerator():
        return store, {}  # too few to gain on a CPU: all fitted as usual
    keyed = []
    for member in members:
        try:
            member.key = store.key(
                member.estimator,
                member.X,
                member.y,
                member.sample_weight,
                remember=True,
            )
        except Exception:  # a parameter that cannot be hashed: fitted as usual
            continue
        keyed.append(member)
    members = keyed
    tasks = _tasks(members, n_jobs)
    if len(tasks) == 1 or n_jobs in (None, 1):
        results = [_fit_task(task, max_batch, verbose) for task in tasks]
    else:
        results = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_fit_task)(task, max_batch, verbose) for task in tasks
        )
    seconds: dict = defaultdict(list)
    for result in results:
        for key, fitted, spent in result:
            store.fits[key].append(fitted)
            seconds[key].append(spent)
    return store, dict(seconds)


# Parameters that never separate networks into different compiled programs
# (inputs of the compiled function, or handled per member): the table's.
_PER_MEMBER = PER_MEMBER


def _signature(member: Member) -> str:
    """Members that may share a program share this (used to split work)."""
    params = member.estimator.get_params(deep=False)
    shared = {k: v for k, v in params.items() if k not in _PER_MEMBER}
    # Whether a rate is zero is structure (no Dropout layer, no momentum slots).
    shared["dropout>0"] = np.asarray(params["dropout"]) > 0
    shared["momentum>0"] = params["momentum"] > 0
    return joblib.hash((type(member.estimator).__qualname__, shared))


def _tasks(members: list[Member], n_jobs) -> list[list[Member]]:
    """The members split into units of work, one per worker at most."""
    if n_jobs in (None, 1):
        return [members] if members else []
    groups: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        groups[_signature(member)].append(member)
    tasks = list(groups.values())
    workers = joblib.effective_n_jobs(n_jobs)
    while len(tasks) < workers:  # halve the largest until every worker has work
        tasks.sort(key=len)
        if len(tasks[-1]) < 2:
            break
        largest = tasks.pop()
        tasks += [largest[::2], largest[1::2]]
    return tasks


def fit_all(estimators, X, y, sample_weight=None, *, max_batch=None, verbose=0):
    """Fit every estimator on the same data; networks of one structure together.

    Equivalent to ``[e.fit(X, y, sample_weight) for e in estimators]`` (each
    estimator is fitted in place and returned), batched where ``available``.
    """
    if available():
        members = [
            Member(clone(e), X, y, sample_weight, data_id="X") for e in estimators
        ]
        store, _ = fit_members(members, max_batch=max_batch, verbose=verbose)
        with serving(store):
            return [e.fit(X, y, sample_weight=sample_weight) for e in estimators]
    return [e.fit(X, y, sample_weight=sample_weight) for e in estimators]


def _fit_task(members: list[Member], max_batch, verbose) -> list[tuple]:
    """Prepare, group, train and finish members; (key, fitted, seconds) each."""
    from ._engine import _many

    converted: dict[Any, Any] = {}
    finite: dict[Any, bool] = {}
    prepared = defaultdict(list)
    done = []
    for member in members:
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
                )
        except Exception as error:  # the same error the member's fit raises
            done.append((member.key, error, time.perf_counter() - start))
            continue
        if (
            job.engine is None
            or _many.early_stopping_of(job.engine["callbacks"]) is False
        ):
            continue  # fitted as usual, later
        program = job.engine["program"]
        if not _batching_pays(program):
            continue
        if job.X is not X:  # the fit made data of its own (a copy, or reordered)
            member.data_id = ("own", id(member))
        # Networks that differ only in where dropout sits train as one
        # program (below): a rate of 0 leaves a layer's output as it is.
        unmasked = dataclasses.replace(
            program, dropout_layers=(False,) * len(program.hidden)
        )
        group = (unmasked.key, job.engine["shuffle"])
        prepared[group].append((member, job, time.perf_counter() - start))

    for entries in prepared.values():
        if len(entries) < CPU_BATCH_MIN_MEMBERS and not on_accelerator():
            continue  # fitted one after another, as usual, later
        program = entries[0][1].engine["program"]
        layouts = [job.engine["program"].dropout_layers for _, job, _ in entries]
        if len(set(layouts)) > 1:
            program = dataclasses.replace(
                program, dropout_layers=tuple(map(any, zip(*layouts, strict=True)))
            )
        size = _cap(program, entries, max_batch)
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
                    f"[skmlp] training {len(chunk)} networks {layers} together",
                    flush=True,
                )
            start = time.perf_counter()
            outcomes = _many.train_many(
                [m.estimator.model_ for m, _, _ in chunk],
                [
                    dict(j.engine, X=j.X, n_train=j.n_train, program=program)
                    for _, j, _ in chunk
                ],
                data_ids=[
                    m.data_id if m.data_id is not None else i
                    for i, (m, _, _) in enumerate(chunk)
                ],
                verbose=max(m.estimator.verbose for m, _, _ in chunk),
            )
            share = (time.perf_counter() - start) / len(chunk)
            for (member, job, before), outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    done.append((member.key, outcome, before + share))
                    continue
                fitted = member.estimator._end_fit(job, outcome)
                done.append((member.key, fitted, before + share))
    return done


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


def _cap(program, entries, max_batch) -> int:
    """How many members to train together within the memory at hand."""
    import jax

    floatx = np.dtype(program.dtype).itemsize
    n_weights = sum(int(np.prod(s)) for s in program.trainable_shapes())
    widths = (*program.hidden, program.output_units)
    rows = max(job.X.shape[0] for _, job, _ in entries)
    # Weights, gradients, optimizer slots, best-epoch copies and the step's
    # activations (kept for the backward pass), plus each member's targets,
    # weights and row indices.
    per_member = floatx * (6 * n_weights + 4 * program.batch_size * sum(widths))
    per_member += 4 * rows * (2 + max(program.output_units, 1))
    device = jax.devices()[0]
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
