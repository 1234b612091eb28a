"""The TensorFlow engine: one ``tf.function`` call per epoch, the loop in the graph.

The trainer (see ``_stateful``) traces its epoch once per ``Program`` and
reuses it for every later fit of that structure.

With XLA (``Program.xla``, see ``_program.uses_xla``), each training *step*
is compiled by XLA, called from the same graph loop: every step has
``batch_size`` rows (the last batch of an epoch is filled up with repeated
rows, masked out of the loss, the metrics and the batch statistics), so XLA
compiles the step once per ``Program``, whatever the number of rows, and
the step's elementwise work (activations, the optimizer's update) is fused.
Measured on 2 CPU cores (``benchmarks/xla.py``), this trains as fast as
compiling the whole epoch with XLA and compiles in about half the time,
once instead of once per data size; the batches are sliced outside XLA, so
no shape in XLA depends on the data. Evaluation (validation) stays in the
graph: it has no update to fuse. Without XLA, batches are sliced with
dynamic shapes and the last batch of an epoch is simply smaller, as in
Keras' own ``fit``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import _stateful
from ._program import TRACES


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
        ]
        hyper = tf.TensorSpec([program.hyper_size()], floatx)
        seed = tf.TensorSpec([2], "int64")
        # No AutoGraph: the loops are written as tf.while_loop, and converting
        # the Python code (Keras' ops, the loss, the optimizer) cost 1.5 s of
        # a fresh process's first fit. Called as concrete functions: through
        # tf.function, TensorFlow counts every trainer's first trace as a
        # retrace of one function (they share their code) and warns about
        # "excessive retracing" once a notebook has tried five structures.
        self._signatures = {
            "epoch": [*data, hyper, seed, tf.TensorSpec([], "bool")],
            "evaluate": [*data, hyper],
        }
        # The XLA step: the data's shapes with batch_size rows, the mask.
        b = program.batch_size
        self._step_signature = [
            *(tf.TensorSpec([b, *spec.shape[1:]], spec.dtype) for spec in data),
            tf.TensorSpec([b], floatx),
            hyper,
            seed,
            tf.TensorSpec([], "int32"),
        ]
        self._concrete = {}

    def _function(self, name):
        """The traced ``_epoch`` or ``_evaluate``, traced at its first use."""
        if name not in self._concrete:
            xla = name == "epoch" and self.program.xla  # evaluation: the graph's
            body = getattr(self, "_xla_" + name if xla else "_" + name)
            function = tf.function(
                body, input_signature=self._signatures[name], autograph=False
            )
            self._concrete[name] = function.get_concrete_function()
        return self._concrete[name]

    def epoch(self, data, hyper, seed, shuffle):
        seed = tf.constant(seed.astype(np.int64))
        return self._function("epoch")(*data, hyper, seed, tf.constant(shuffle))

    def evaluate(self, data, hyper):
        return self._function("evaluate")(*data, hyper)

    def _order(self, n, seed, shuffle):
        return tf.cond(
            shuffle,
            lambda: tf.argsort(tf.random.stateless_uniform([n], seed)),
            lambda: tf.range(n),
        )

    def _xla_epoch(self, X, Y, W, hyper_vec, seed, shuffle):
        """The graph loop over the XLA-compiled step (``_masked_step``)."""
        TRACES["epoch"] += 1
        b = self.program.batch_size
        # Traced inside this graph: a call that XLA compiles at its first run.
        step_function = tf.function(
            self._masked_step,
            input_signature=self._step_signature,
            autograph=False,
            jit_compile=True,
        )
        n = tf.shape(X)[0]
        n_steps = (n + b - 1) // b
        # The last batch filled up with row indices 0 (masked out).
        order = tf.concat(
            [self._order(n, seed, shuffle), tf.zeros([n_steps * b - n], "int32")], 0
        )

        def step(i, sums):
            idx = tf.slice(order, [i * b], [b])
            mb = tf.cast(i * b + tf.range(b) < n, X.dtype)
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            return i + 1, sums + step_function(xb, yb, wb, mb, hyper_vec, seed, i)

        return _loop(step, n_steps, X.dtype)

    def _masked_step(self, xb, yb, wb, mb, hyper_vec, seed, i):
        """One step of ``batch_size`` rows, those where ``mb`` is 0 left out."""
        return self._step(xb, yb, wb, self.program.hyper(hyper_vec), seed, i, mb)

    def _step(self, xb, yb, wb, hyper, seed, i, mask=None):
        """One training step on a batch (rows where ``mask`` is 0 left out).

        Returns the step's sums: loss x rows, rows, weighted hits, weight.
        """
        program = self.program
        if mask is None:
            count = tf.cast(tf.shape(xb)[0], xb.dtype)
        else:
            wb = wb * mask
            count = tf.reduce_sum(mask)
        with tf.GradientTape() as tape:
            out, new_state, activity = program.forward(
                self.params, self.state, xb, hyper, training=True, mask=mask,
                dropout=_dropout(seed, i),
            )  # fmt: skip
            data = tf.reduce_sum(program.per_sample_loss(yb, out) * wb) / count
            loss = data + activity + program.weight_penalty_value(self.params, hyper)
        self._update(tape.gradient(loss, self.params), hyper)
        for variable, value in zip(self.state, new_state, strict=True):
            variable.assign(value)
        hits = (
            tf.reduce_sum(program.correct(yb, out) * wb)
            if program.has_accuracy
            else tf.constant(0.0, out.dtype)
        )
        return tf.stack([loss * count, count, hits, tf.reduce_sum(wb)])

    def _epoch(self, X, Y, W, hyper_vec, seed, shuffle):
        TRACES["epoch"] += 1
        program, b = self.program, self.program.batch_size
        hyper = program.hyper(hyper_vec)
        n = tf.shape(X)[0]
        order = self._order(n, seed, shuffle)

        def step(i, sums):
            idx = order[i * b : (i + 1) * b]
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            return i + 1, sums + self._step(xb, yb, wb, hyper, seed, i)

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
