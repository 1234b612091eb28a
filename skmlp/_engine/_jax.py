"""The JAX engine: one jitted call per epoch, the batches looped on the device.

Weights, optimizer state, data, hyper-parameters and seeds are inputs of the
jitted functions, and a ``Trainer`` (one per ``Program``) is reused by every
fit of that structure, so a second fit, a CV fold or a grid candidate with
another learning rate compiles nothing. Rows are padded to a bucketed count
(``steps_bucket``) so that folds of slightly different sizes share a shape;
padded rows are masked out of losses, metrics and batch statistics.
"""

from __future__ import annotations

import os
import threading

import jax
import jax.numpy as jnp
import numpy as np

from .._keras import keras
from ._cache import LRU
from ._optim import Layout
from ._program import TRACES, Program, steps_bucket

# Compiled trainers by Program.key, the least recently used dropped first
# (with their compiled functions) beyond the size (_cache.CACHE_SIZE).
_trainers: LRU = LRU()
# Steps per iteration of the compiled loop over batches (lax.scan's unroll).
SCAN_UNROLL = 1
_lock = threading.Lock()
# XLA options for the training programs, by platform. On a GPU, autotuning
# the matrix products doubles the compile time and gains no training speed
# for networks this small: a search's programs compiled in 10.3 s with it and
# 5.0 s without, and trained as fast (an H100; docs/performance.md). Turning
# Triton's matrix kernels off as well compiled a little faster still but
# made a single fit 1.3x slower.
COMPILER_OPTIONS: dict[str, dict] = {"gpu": {"xla_gpu_autotune_level": 0}}


def _jit(fun, **kwargs):
    options = COMPILER_OPTIONS.get(jax.default_backend())
    if options:
        kwargs["compiler_options"] = options
    return jax.jit(fun, **kwargs)


def _branches() -> bool:
    """Whether the compiled loops may branch on a flag at every step (a CPU)."""
    return jax.default_backend() == "cpu"


def trainer(program: Program) -> Trainer:
    with _lock:
        return _trainers.get_or_make(program.key, lambda: Trainer(program))


_cache_checked = False


def enable_persistent_cache() -> None:
    """Point JAX's compilation cache at skmlp's data home unless one is set.

    Done once per process, at the first fit on JAX: the one process-wide
    setting skmlp makes (see the user guide); ``SKMLP_JAX_CACHE=0`` leaves
    JAX's configuration alone.
    """
    global _cache_checked
    if _cache_checked:
        return
    _cache_checked = True
    if os.environ.get("SKMLP_JAX_CACHE", "1") == "0":
        return
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or getattr(
        jax.config, "jax_compilation_cache_dir", None
    ):
        return
    from ..datasets import get_data_home

    folder = os.path.join(get_data_home(), "jax-cache")
    jax.config.update("jax_compilation_cache_dir", folder)
    # skmlp's programs compile in well under JAX's default 1 s threshold, and
    # the many small ones (the optimizer's slots, one per weight shape) add up.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def to_device(*arrays: np.ndarray, rows: int | None = None):
    """The arrays' rows, concatenated and zero-padded to ``rows``, on the device.

    On a CPU JAX uses a 64-byte-aligned NumPy buffer in place instead of
    copying it (keeping a reference to it), so the rows are copied once,
    into a fresh buffer of skmlp's that nothing else writes to: a second copy
    of MNIST cost 0.13 s per fit. On an accelerator the rows are sent as
    they are and padded there, which spares a host copy of the whole data
    (``device_put``, not ``jnp.asarray``, which compiles a program per shape
    to copy a NumPy array).
    """
    n = sum(a.shape[0] for a in arrays)
    rows = n if rows is None else rows
    first = arrays[0]
    if jax.default_backend() != "cpu":
        parts = [jax.device_put(a) for a in arrays]
        joined = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
        extra = [(0, rows - n)] + [(0, 0)] * (first.ndim - 1)
        return jnp.pad(joined, extra) if rows > n else joined
    shape = (rows, *first.shape[1:])
    nbytes = int(np.prod(shape)) * first.dtype.itemsize
    raw = np.empty(nbytes + 64, np.uint8)
    offset = -raw.ctypes.data % 64
    out = raw[offset : offset + nbytes].view(first.dtype).reshape(shape)
    start = 0
    for a in arrays:
        out[start : start + a.shape[0]] = a
        start += a.shape[0]
    out[start:] = 0
    return jax.device_put(out)


class Trainer:
    """The compiled epoch and evaluation functions of one ``Program``."""

    def __init__(self, program: Program):
        self.program = program
        self.optimizer = program.make_optimizer()
        variables = [
            keras.Variable(
                np.zeros(s, program.dtype), dtype=program.dtype, name=f"v{i}"
            )
            for i, s in enumerate(program.trainable_shapes())
        ]
        self.optimizer.build(variables)
        rule = program.optimizer_rule
        self.layout = (
            None if rule is None else Layout.of(self.optimizer, variables, rule)
        )
        if rule is not None and self.layout is None:
            raise RuntimeError(f"no layout for {rule} in this Keras release")
        self.epoch = _jit(self._epoch, static_argnames=("shuffle",))
        self.evaluate = _jit(self._evaluate)
        # Many networks of this structure at once (skmlp._batch): the same
        # functions mapped over stacked weights, data rows and seeds; the
        # data set itself (X) is shared, each member reading its own rows.
        self.epoch_many = _jit(self._epoch_many, static_argnames=("shuffle",))
        self.evaluate_many = _jit(
            jax.vmap(self._evaluate, in_axes=(0, 0, None, 0, 0, 0, 0, 0))
        )

    def _batch_loss(self, params, state, xb, yb, wb, mb, hyper, key):
        program = self.program

        def dropout(h, rate, i):
            keep = jax.random.bernoulli(jax.random.fold_in(key, i), 1.0 - rate, h.shape)
            return jnp.where(keep, h / (1.0 - rate), 0.0)

        out, new_state, activity = program.forward(
            params, state, xb, hyper, training=True, mask=mb, dropout=dropout
        )
        n = jnp.maximum(jnp.sum(mb), 1.0)  # padding-only steps are discarded
        data = jnp.sum(program.per_sample_loss(yb, out) * wb) / n
        loss = data + activity + program.weight_penalty_value(params, hyper)
        return loss, (new_state, out, n)

    def _order(self, seed, n, size: int, shuffle: bool):
        """An epoch's order of the ``size`` (padded) rows, and its dropout key."""
        shuffle_key, key = jax.random.split(jax.random.wrap_key_data(seed))
        positions = jnp.arange(size)
        if not shuffle:
            return positions, key
        # The same order for a fit alone or in a batch padded further: JAX's
        # random bits for the first rows do not depend on the length.
        noise = jax.random.uniform(shuffle_key, (size,))
        return jnp.argsort(jnp.where(positions < n, noise, 2.0)), key

    def _step(self, carry, i, order, key, X, rows, Y, W, n, hyper_vec):
        """Training step ``i`` of an epoch: the new carry and the step's sums.

        ``rows`` (or None: all of ``X``) are the fit's rows of X.
        """
        program, b = self.program, self.program.batch_size
        params, state, opt_vars = carry
        idx = jax.lax.dynamic_slice(order, (i * b,), (b,))
        mb = (i * b + jnp.arange(b) < n).astype(X.dtype)
        yb, wb = Y[idx], W[idx] * mb
        xb = X[idx] if rows is None else X[rows[idx]]
        hyper = program.hyper(hyper_vec)
        (loss, (new_state, out, count)), grads = jax.value_and_grad(
            self._batch_loss, has_aux=True
        )(params, state, xb, yb, wb, mb, hyper, jax.random.fold_in(key, i))
        if self.layout is None:
            new_params, new_opt = self.optimizer.stateless_apply(
                opt_vars, grads, params
            )
        else:
            new_params, new_opt = program.optimizer_rule.apply(
                self.layout, opt_vars, grads, params, hyper.optimizer
            )
        hits = jnp.sum(program.correct(yb, out) * wb) if program.has_accuracy else 0.0
        sums = jnp.stack([loss * count, count, hits, jnp.sum(wb)])
        return (new_params, new_state, new_opt), sums.astype(X.dtype)

    # Steps past the data (the padding of a bucketed shape, or every step of
    # a member that has stopped) must change nothing. On a CPU a branch skips
    # them, and skips the select that would keep the old state otherwise (a
    # select over every weight and optimizer slot at every step costs a CPU
    # a fifth of an epoch). On an accelerator a branch reads its flag back to
    # the host at every step, so there the step runs and the select keeps.

    def _epoch(
        self, params, state, opt_vars, X, rows, Y, W, n, hyper_vec, seed, shuffle
    ):
        """One epoch of one network: new weights, state, optimizer state, sums."""
        TRACES["epoch"] += 1
        b = self.program.batch_size
        size = Y.shape[0]
        order, key = self._order(seed, n, size, shuffle)
        zeros = jnp.zeros(4, X.dtype)

        def train(carry, i):
            return self._step(carry, i, order, key, X, rows, Y, W, n, hyper_vec)

        def step(carry, i):
            active = i * b < n
            if _branches():
                return jax.lax.cond(
                    active, train, lambda carry, i: (carry, zeros), carry, i
                )
            new, sums = train(carry, i)
            carry = jax.tree.map(lambda a, b: jnp.where(active, a, b), new, carry)
            return carry, jnp.where(active, sums, 0.0)

        carry, sums = jax.lax.scan(
            step, (params, state, opt_vars), jnp.arange(size // b), unroll=SCAN_UNROLL
        )
        return (*carry, jnp.sum(sums, axis=0))

    def _epoch_many(
        self, params, state, opt_vars, X, rows, Y, W, n, hyper_vec, seed, shuffle
    ):
        """One epoch of many networks (stacked along the first axis).

        Members share ``X``, each reading its own ``rows``; ``n`` is each
        member's number of rows (0 for a member that has stopped).
        """
        TRACES["epoch"] += 1
        b = self.program.batch_size
        size = Y.shape[1]
        order, key = jax.vmap(self._order, in_axes=(0, 0, None, None))(
            seed, n, size, shuffle
        )
        train = jax.vmap(
            self._step, in_axes=(0, None, 0, 0, None, 0, 0, 0, 0, 0)
        )  # fmt: skip
        zeros = jnp.zeros((n.shape[0], 4), X.dtype)

        def masked(carry, i):
            active = i * b < n
            new, sums = train(carry, i, order, key, X, rows, Y, W, n, hyper_vec)

            def keep(a, b):
                return jnp.where(active.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

            return jax.tree.map(keep, new, carry), jnp.where(active[:, None], sums, 0)

        def step(carry, i):
            if not _branches():
                return masked(carry, i)
            active = i * b < n
            # 0: every member trains this step (most steps), 1: some, 2: none.
            # The step appears in two branches, which lengthens compiling
            # (about 0.6 s in a fresh process on digits) but trains a digits
            # search 1.3x faster than one branch whose result is then
            # selected: benchmarks/batched.py, docs/performance.md.
            case = jnp.where(jnp.all(active), 0, jnp.where(jnp.any(active), 1, 2))
            return jax.lax.switch(
                case,
                [
                    lambda c, i: train(c, i, order, key, X, rows, Y, W, n, hyper_vec),
                    masked,
                    lambda c, i: (c, zeros),
                ],
                carry,
                i,
            )

        carry, sums = jax.lax.scan(
            step, (params, state, opt_vars), jnp.arange(size // b), unroll=SCAN_UNROLL
        )
        return (*carry, jnp.sum(sums, axis=0))

    def _evaluate(self, params, state, X, rows, Y, W, n, hyper_vec):
        TRACES["evaluate"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)

        def chunk(i, sums):
            if rows is None:
                xb = jax.lax.dynamic_slice_in_dim(X, i * b, b)
            else:
                xb = X[jax.lax.dynamic_slice_in_dim(rows, i * b, b)]
            yb = jax.lax.dynamic_slice_in_dim(Y, i * b, b)
            wb = jax.lax.dynamic_slice_in_dim(W, i * b, b)
            mb = (i * b + jnp.arange(b) < n).astype(X.dtype)
            out, _, activity = program.forward(
                params, state, xb, hyper, training=False, mask=mb
            )
            count = jnp.sum(mb)
            data = jnp.sum(program.per_sample_loss(yb, out) * wb * mb)
            hits = (
                jnp.sum(program.correct(yb, out) * wb * mb)
                if program.has_accuracy
                else 0.0
            )
            return sums + jnp.stack(
                [data + activity * count, count, hits, jnp.sum(wb * mb)]
            )

        sums = jax.lax.fori_loop(0, (n + b - 1) // b, chunk, jnp.zeros(4, W.dtype))
        penalty = program.weight_penalty_value(params, hyper)
        return sums.at[0].add(penalty * sums[1])


class Session:
    """One fit's state on the device: weights, optimizer state and data."""

    def __init__(self, program, params, state, opt_vars, data, val, hyper):
        enable_persistent_cache()
        self.trainer = trainer(program)
        # device_put: jnp.asarray would compile a program per NumPy shape.
        self.params = [jax.device_put(p) for p in params]
        self.state = [jax.device_put(s) for s in state]
        self.opt_vars = [jax.device_put(v) for v in opt_vars]
        self.hyper = jax.device_put(hyper)
        self.data = self._put(data, program.batch_size)
        self.val = None if val is None else self._put(val, program.batch_size)

    @staticmethod
    def _put(arrays, batch_size):
        X, Y, W = arrays
        n = X.shape[0]
        rows = steps_bucket(-(-n // batch_size)) * batch_size
        return (*(to_device(a, rows=rows) for a in (X, Y, W)), jnp.int32(n))

    def epoch(self, seed: np.ndarray, shuffle: bool) -> np.ndarray:
        X, Y, W, n = self.data
        *state, sums = self.trainer.epoch(
            self.params, self.state, self.opt_vars, X, None, Y, W, n, self.hyper,
            jnp.asarray(seed, dtype=jnp.uint32), shuffle=shuffle,
        )  # fmt: skip
        sums = np.asarray(sums, dtype=np.float64)  # waits for the device
        self.params, self.state, self.opt_vars = state
        return sums

    def evaluate(self) -> np.ndarray:
        X, Y, W, n = self.val
        sums = self.trainer.evaluate(
            self.params, self.state, X, None, Y, W, n, self.hyper
        )
        return np.asarray(sums, dtype=np.float64)

    def get(self):
        return self.params, self.state, self.opt_vars

    def close(self, interrupted: bool = False) -> None:
        pass

    def set(self, params, state, opt_vars):
        self.params = [jax.device_put(p) for p in params]
        self.state = [jax.device_put(s) for s in state]
        self.opt_vars = [jax.device_put(v) for v in opt_vars]
