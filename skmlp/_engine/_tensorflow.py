"""The TensorFlow engine: one ``tf.function`` call per epoch, the loop in the graph.

Keras' TensorFlow optimizers cannot run statelessly, so each ``Trainer``
owns variables of its ``Program``'s shapes and an optimizer built on them;
a fit loads its weights and optimizer state into a free trainer, trains, and
reads them back. Trainers are pooled per ``Program`` (one per concurrent
fit), so a second fit of the same structure traces nothing. Batches are
sliced with dynamic shapes, so any row count runs in the same graph.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import tensorflow as tf

from .._keras import keras
from ._program import Hyper, Program

_pools: dict[str, list[Trainer]] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def _borrow(program: Program):
    with _lock:
        pool = _pools.setdefault(program.key, [])
        trainer = pool.pop() if pool else None
    if trainer is None:
        trainer = Trainer(program)
    try:
        yield trainer
    finally:
        with _lock:
            pool.append(trainer)


class Trainer:
    def __init__(self, program: Program):
        self.program = program
        dtype = keras.config.floatx()
        self.params = [
            keras.Variable(np.zeros(s, dtype), name=f"w{i}")
            for i, s in enumerate(program.trainable_shapes())
        ]
        self.state = [
            keras.Variable(np.zeros(s, dtype), trainable=False, name=f"s{i}")
            for i, s in enumerate(program.state_shapes())
        ]
        self.optimizer = program.make_optimizer()
        self.optimizer.build(self.params)
        self.epoch = tf.function(self._epoch, reduce_retracing=True)
        self.evaluate = tf.function(self._evaluate, reduce_retracing=True)

    def load(self, params, state, opt_vars):
        for variables, values in (
            (self.params, params),
            (self.state, state),
            (self.optimizer.variables, opt_vars),
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)

    def read(self):
        return (
            [v.numpy() for v in self.params],
            [v.numpy() for v in self.state],
            [v.numpy() for v in self.optimizer.variables],
        )

    def _epoch(self, X, Y, W, hyper_vec, seed, shuffle):
        program, b = self.program, self.program.batch_size
        hyper = Hyper(hyper_vec)
        n = tf.shape(X)[0]
        if shuffle:
            order = tf.argsort(tf.random.stateless_uniform([n], seed))
        else:
            order = tf.range(n)
        sums = tf.zeros(4, X.dtype)
        for i in tf.range((n + b - 1) // b):
            idx = order[i * b : (i + 1) * b]
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            step_seed = tf.random.experimental.stateless_fold_in(seed, i)

            def dropout(h, rate, layer, step_seed=step_seed):
                layer_seed = tf.random.experimental.stateless_fold_in(step_seed, layer)
                keep = tf.random.stateless_uniform(tf.shape(h), layer_seed) >= rate
                return tf.where(keep, h / (1.0 - rate), 0.0)

            with tf.GradientTape() as tape:
                out, new_state, activity = program.forward(
                    self.params, self.state, xb, hyper, training=True, dropout=dropout
                )
                count = tf.cast(tf.shape(xb)[0], X.dtype)
                data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb) / count
                loss = data + activity + program.weight_penalty_value(self.params, hyper)
            grads = tape.gradient(loss, self.params)
            self.optimizer.apply(grads, self.params)
            for variable, value in zip(self.state, new_state, strict=True):
                variable.assign(value)
            hits = (
                tf.reduce_sum(program.correct(yb, out) * wb)
                if program.has_accuracy
                else tf.constant(0.0, X.dtype)
            )
            sums += tf.stack([loss * count, count, hits, tf.reduce_sum(wb)])
        return sums

    def _evaluate(self, X, Y, W, hyper_vec):
        program, b = self.program, self.program.batch_size
        hyper = Hyper(hyper_vec)
        n = tf.shape(X)[0]
        sums = tf.zeros(4, X.dtype)
        for i in tf.range((n + b - 1) // b):
            xb, yb, wb = X[i * b : (i + 1) * b], Y[i * b : (i + 1) * b], W[i * b : (i + 1) * b]
            out, _, activity = program.forward(
                self.params, self.state, xb, hyper, training=False
            )
            count = tf.cast(tf.shape(xb)[0], X.dtype)
            data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb)
            hits = (
                tf.reduce_sum(program.correct(yb, out) * wb)
                if program.has_accuracy
                else tf.constant(0.0, X.dtype)
            )
            sums += tf.stack([data + activity * count, count, hits, tf.reduce_sum(wb)])
        penalty = program.weight_penalty_value(self.params, hyper)
        return sums + tf.stack([penalty * sums[1], 0.0, 0.0, 0.0])


class Session:
    """One fit's training state, on a trainer borrowed from the pool until ``close``.

    The weights are read back after every epoch: callbacks and an interrupted
    fit see the state of the last complete epoch.
    """

    def __init__(self, program, params, state, opt_vars, data, val, hyper):
        self._borrowed = _borrow(program)
        self.trainer = self._borrowed.__enter__()
        self.trainer.load(params, state, opt_vars)
        self.weights = (params, state, opt_vars)
        self.hyper = tf.constant(hyper)
        self.data = tuple(tf.constant(a) for a in data)
        self.val = None if val is None else tuple(tf.constant(a) for a in val)

    def epoch(self, seed: np.ndarray, shuffle: bool) -> np.ndarray:
        seed = tf.constant(seed.astype(np.int64))
        sums = self.trainer.epoch(*self.data, self.hyper, seed, shuffle)
        self.weights = self.trainer.read()
        return sums.numpy().astype(np.float64)

    def evaluate(self) -> np.ndarray:
        return self.trainer.evaluate(*self.val, self.hyper).numpy().astype(np.float64)

    def get(self):
        return self.weights

    def set(self, params, state, opt_vars):
        self.weights = (params, state, opt_vars)
        if self.trainer is not None:
            self.trainer.load(params, state, opt_vars)

    def close(self) -> None:
        if self.trainer is not None:
            self.trainer = None
            self._borrowed.__exit__(None, None, None)
