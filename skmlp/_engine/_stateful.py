"""Engines whose optimizers update variables in place (TensorFlow, torch).

Keras' TensorFlow and torch optimizers cannot run statelessly, so each
``Trainer`` owns variables of its ``Program``'s shapes and an optimizer built
on them; a fit borrows a free trainer from the pool of its ``Program``,
loads its weights and optimizer state, trains, and reads them back. The
pool holds one trainer per concurrent fit, so fits in threads never share
variables, and a later fit of the same structure reuses compiled work.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from .._keras import keras, to_numpy
from ._cache import LRU
from ._optim import Layout
from ._program import Program

# Free trainers by (class, Program.key); a pool dropped from the cache goes
# with its trainers (one borrowed at the time still returns to its own list).
_pools: LRU = LRU()
_lock = threading.Lock()


@contextlib.contextmanager
def _borrow(trainer_class, program: Program):
    key = (trainer_class, program.key)
    with _lock:
        pool = _pools.get_or_make(key, list)
        trainer = pool.pop() if pool else None
    if trainer is None:
        trainer = trainer_class(program)
    try:
        yield trainer
    finally:
        with _lock:
            pool.append(trainer)


class Trainer:
    """Variables and an optimizer of one ``Program``'s shapes."""

    def __init__(self, program: Program):
        self.program = program
        dtype = program.dtype
        self.params = [
            keras.Variable(np.zeros(s, dtype), dtype=dtype, name=f"w{i}")
            for i, s in enumerate(program.trainable_shapes())
        ]
        self.state = [
            keras.Variable(
                np.zeros(s, dtype), dtype=dtype, trainable=False, name=f"s{i}"
            )
            for i, s in enumerate(program.state_shapes())
        ]
        self.optimizer = program.make_optimizer()
        self.optimizer.build(self.params)
        rule = program.optimizer_rule
        self.layout = (
            None if rule is None else Layout.of(self.optimizer, self.params, rule)
        )
        if rule is not None and self.layout is None:
            raise RuntimeError(f"no layout for {rule} in this Keras release")

    def load(self, params, state, opt_vars):
        for variables, values in (
            (self.params, params),
            (self.state, state),
            (self.optimizer.variables, opt_vars),
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)

    def read(self):
        return tuple(
            [to_numpy(v) for v in variables]
            for variables in (self.params, self.state, self.optimizer.variables)
        )

    def configure(self, hyper: np.ndarray) -> None:
        """Take a fit's settings that are read outside the compiled step."""

    def epoch(self, data, hyper, seed: np.ndarray, shuffle: bool) -> np.ndarray:
        raise NotImplementedError

    def evaluate(self, data, hyper) -> np.ndarray:
        raise NotImplementedError

    def to_device(self, arrays):
        return tuple(keras.ops.convert_to_tensor(a) for a in arrays)


class Session:
    """One fit's training state, on a trainer borrowed from the pool until ``close``.

    The weights are read back only when asked for (by callbacks, and at the
    end). An interrupt cannot stop a compiled epoch midway: Python handles
    it only once the call returns.
    """

    trainer_class: type = Trainer
    # An eager loop (torch) can be interrupted between steps: keep a copy of
    # the last complete epoch's state.
    snapshot_every_epoch = False

    def __init__(self, program, params, state, opt_vars, data, val, hyper):
        self._borrowed = _borrow(self.trainer_class, program)
        self.trainer = self._borrowed.__enter__()
        self.trainer.load(params, state, opt_vars)
        self.trainer.configure(hyper)
        self.weights = (params, state, opt_vars)
        self.hyper = keras.ops.convert_to_tensor(hyper)
        self.data = self.trainer.to_device(data)
        self.val = None if val is None else self.trainer.to_device(val)

    def epoch(self, seed: np.ndarray, shuffle: bool) -> np.ndarray:
        sums = self.trainer.epoch(self.data, self.hyper, seed, shuffle)
        if self.snapshot_every_epoch:
            self.snapshot = self.trainer.read()
        return to_numpy(sums).astype(np.float64)

    def evaluate(self) -> np.ndarray:
        sums = self.trainer.evaluate(self.val, self.hyper)
        return to_numpy(sums).astype(np.float64)

    def get(self):
        if self.trainer is not None:
            self.weights = self.trainer.read()
        return self.weights

    def set(self, params, state, opt_vars):
        self.weights = tuple(
            [to_numpy(v) for v in values] for values in (params, state, opt_vars)
        )
        if self.trainer is not None:
            self.trainer.load(*self.weights)

    def close(self, interrupted: bool = False) -> None:
        if self.trainer is not None:
            if interrupted and self.snapshot_every_epoch:
                self.weights = getattr(self, "snapshot", self.weights)
            else:
                self.weights = self.trainer.read()
            self.trainer = None
            self._borrowed.__exit__(None, None, None)
