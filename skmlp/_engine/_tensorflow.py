"""The TensorFlow engine: one ``tf.function`` call per epoch, the loop in the graph.

The trainer (see ``_stateful``) traces its epoch once per ``Program`` and
reuses it for every later fit of that structure.

With XLA (``Program.xla``: ``jit_compile`` True or "auto"), the epoch is
compiled by XLA for static shapes, as the JAX engine's: the rows are padded
to a bucketed number of batches (``steps_bucket``), every batch has
``batch_size`` rows, and the padding is masked out of losses, metrics and
batch statistics. XLA compiles once per padded size (nearby sizes share
one). Dynamic shapes would make XLA recompile or fall back at every batch
(94 s an epoch, measured). Without XLA, batches are sliced with dynamic
shapes, so any row count runs in the same graph, and the last batch of an
epoch is simply smaller, as in Keras' own ``fit``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import _stateful
from ._program import TRACES, steps_bucket


class Trainer(_stateful.Trainer):
    def __init__(self, program):
        super().__init__(program)
        # Fixed signatures with any number of rows: one trace per Program.
        floatx = program.dtype
        data = [
            tf.TensorSpec([None, program.n_features], floatx),
            tf.TensorSpec([None], "int32")
            if program.target == "sparse"
            else tf.TensorSpec([None, program.output_units], floatx),
            tf.TensorSpec([None], floatx),
            tf.TensorSpec([program.hyper_size()], floatx),
        ]
        # No AutoGraph: the loops are written as tf.while_loop, and converting
        # the Python code (Keras' ops, the loss, the optimizer) cost 1.5 s of
        # a fresh process's first fit. Called as concrete functions: through
        # tf.function, TensorFlow counts every trainer's first trace as a
        # retrace of one function (they share their code) and warns about
        # "excessive retracing" once a notebook has tried five structures.
        rows = [tf.TensorSpec([], "int32")] if program.xla else []  # real rows
        self._signatures = {
            "epoch": [
                *data[:3], *rows, data[3], tf.TensorSpec([2], "int64"),
                tf.TensorSpec([], "bool"),
            ],
            "evaluate": [*data[:3], *rows, data[3]],
        }  # fmt: skip
        self._concrete = {}

    def _function(self, name):
        """The traced ``_epoch`` or ``_evaluate``, traced at its first use."""
        if name not in self._concrete:
            xla = self.program.xla
            function = tf.function(
                getattr(self, ("_padded_" if xla else "_") + name),
                input_signature=self._signatures[name],
                autograph=False,
                jit_compile=xla,  # then compiled per padded size, at its first call
            )
            self._concrete[name] = function.get_concrete_function()
        return self._concrete[name]

    def to_device(self, arrays):
        if not self.program.xla:
            return super().to_device(arrays)
        n, b = arrays[0].shape[0], self.program.batch_size
        rows = steps_bucket(-(-n // b)) * b
        padded = []
        for a in arrays:
            out = np.zeros((rows, *a.shape[1:]), a.dtype)
            out[:n] = a
            padded.append(tf.convert_to_tensor(out))
        return (*padded, tf.constant(n, "int32"))

    def epoch(self, data, hyper, seed, shuffle):
        seed = tf.constant(seed.astype(np.int64))
        return self._function("epoch")(*data, hyper, seed, tf.constant(shuffle))

    def evaluate(self, data, hyper):
        return self._function("evaluate")(*data, hyper)

    def _padded_epoch(self, X, Y, W, n, hyper_vec, seed, shuffle):
        """One epoch over rows padded to whole batches (static shapes, for XLA)."""
        TRACES["epoch"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)
        size = tf.shape(X)[0]  # static where XLA compiles it
        positions = tf.range(size)
        noise = tf.random.stateless_uniform([size], seed)
        # Padding rows last, whatever the shuffle.
        order = tf.cond(
            shuffle,
            lambda: tf.argsort(tf.where(positions < n, noise, 2.0)),
            lambda: positions,
        )

        def step(i, sums):
            idx = tf.slice(order, [i * b], [b])
            mb = tf.cast(i * b + tf.range(b) < n, X.dtype)
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx) * mb
            with tf.GradientTape() as tape:
                out, new_state, activity = program.forward(
                    self.params, self.state, xb, hyper, training=True, mask=mb,
                    dropout=_dropout(seed, i),
                )  # fmt: skip
                count = tf.reduce_sum(mb)
                data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb) / count
                loss = (
                    data + activity + program.weight_penalty_value(self.params, hyper)
                )
            self._update(tape.gradient(loss, self.params), hyper)
            for variable, value in zip(self.state, new_state, strict=True):
                variable.assign(value)
            return i + 1, sums + self._sums(program, loss * count, count, yb, out, wb)

        return _loop(step, (n + b - 1) // b, X.dtype)

    def _padded_evaluate(self, X, Y, W, n, hyper_vec):
        TRACES["evaluate"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)

        def step(i, sums):
            mb = tf.cast(i * b + tf.range(b) < n, X.dtype)
            xb, yb, wb = (_batch(a, i * b, b) for a in (X, Y, W))
            wb = wb * mb
            out, _, activity = program.forward(
                self.params, self.state, xb, hyper, training=False, mask=mb
            )
            count = tf.reduce_sum(mb)
            data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb)
            return i + 1, sums + self._sums(
                program, data + activity * count, count, yb, out, wb
            )

        sums = _loop(step, (n + b - 1) // b, X.dtype)
        penalty = program.weight_penalty_value(self.params, hyper)
        return sums + tf.stack([penalty * sums[1], 0.0, 0.0, 0.0])

    @staticmethod
    def _sums(program, loss_sum, count, yb, out, wb):
        hits = (
            tf.reduce_sum(program.correct(yb, out) * wb)
            if program.has_accuracy
            else tf.constant(0.0, out.dtype)
        )
        return tf.stack([loss_sum, count, hits, tf.reduce_sum(wb)])

    def _epoch(self, X, Y, W, hyper_vec, seed, shuffle):
        TRACES["epoch"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)
        n = tf.shape(X)[0]
        order = tf.cond(
            shuffle,
            lambda: tf.argsort(tf.random.stateless_uniform([n], seed)),
            lambda: tf.range(n),
        )

        def step(i, sums):
            idx = order[i * b : (i + 1) * b]
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            with tf.GradientTape() as tape:
                out, new_state, activity = program.forward(
                    self.params, self.state, xb, hyper, training=True,
                    dropout=_dropout(seed, i),
                )  # fmt: skip
                count = tf.cast(tf.shape(xb)[0], X.dtype)
                data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb) / count
                loss = (
                    data + activity + program.weight_penalty_value(self.params, hyper)
                )
            grads = tape.gradient(loss, self.params)
            self._update(grads, hyper)
            for variable, value in zip(self.state, new_state, strict=True):
                variable.assign(value)
            hits = (
                tf.reduce_sum(program.correct(yb, out) * wb)
                if program.has_accuracy
                else tf.constant(0.0, X.dtype)
            )
            return i + 1, sums + tf.stack(
                [loss * count, count, hits, tf.reduce_sum(wb)]
            )

        return _loop(step, (n + b - 1) // b, X.dtype)

    def _update(self, grads, hyper):
        if self.layout is None:
            self.optimizer.apply(grads, self.params)
            return
        variables = self.optimizer.variables
        params, opt_vars = self.program.optimizer_rule.apply(
            self.layout,
            [v.value for v in variables],
            grads,
            [v.value for v in self.params],
            hyper.optimizer,
        )
        for variable, value in zip(
            [*self.params, *variables], [*params, *opt_vars], strict=True
        ):
            variable.assign(value)

    def _evaluate(self, X, Y, W, hyper_vec):
        TRACES["evaluate"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)
        n = tf.shape(X)[0]

        def step(i, sums):
            xb, yb, wb = (
                X[i * b : (i + 1) * b],
                Y[i * b : (i + 1) * b],
                W[i * b : (i + 1) * b],
            )
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
            return i + 1, sums + tf.stack(
                [data + activity * count, count, hits, tf.reduce_sum(wb)]
            )

        sums = _loop(step, (n + b - 1) // b, X.dtype)
        penalty = program.weight_penalty_value(self.params, hyper)
        return sums + tf.stack([penalty * sums[1], 0.0, 0.0, 0.0])


def _batch(a, start, size: int):
    """``a[start:start + size]`` with a static size (a dynamic slice XLA keeps)."""
    rank = len(a.shape)
    return tf.slice(a, [start] + [0] * (rank - 1), [size, *a.shape[1:]])


def _dropout(seed, step):
    """The dropout of step ``step``: stateless, one seed per step and layer."""
    step_seed = tf.random.experimental.stateless_fold_in(seed, step)

    def dropout(h, rate, layer):
        layer_seed = tf.random.experimental.stateless_fold_in(step_seed, layer)
        noise = tf.random.stateless_uniform(tf.shape(h), layer_seed, dtype=h.dtype)
        return tf.where(noise >= rate, h / (1.0 - rate), tf.zeros_like(h))

    return dropout


def _loop(step, n_steps, dtype):
    """``step(i, sums)`` for i in range(n_steps), in the graph; the sums."""
    _, sums = tf.while_loop(
        lambda i, sums: i < n_steps, step, (tf.constant(0), tf.zeros(4, dtype))
    )
    return sums


class Session(_stateful.Session):
    trainer_class = Trainer
