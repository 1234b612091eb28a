"""The torch engine: a lean eager loop over batches of tensors on the device.

Keras allows torch no multi-step compiled calls, and its ``fit`` pays for a
data pipeline and callbacks at every step. Here each step is the network's
forward pass, ``torch.autograd.grad`` and the optimizer's update, on data put
on the device once per fit.

On a GPU an eager step is fast only if it never waits for the device: any
Python number turned into a device tensor, or a device number read back, is
such a wait. Keras' torch optimizers do both at every step (``ops.cast`` of
``beta_1``, the iteration count, SGD's ``alpha=-learning_rate``), so the
common optimizers' updates are written here once more, in torch operations
with Keras' formulas, on flat copies of the weights and of the Keras
optimizer's own variables that are written back at each epoch's end (few
operations per step: on a GPU the step's cost is their number); the others
use ``optimizer.apply``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._keras import keras
from . import _stateful
from ._optim import Layout, rule_for


def plain_update(optimizer, params, settings: dict | None = None):
    """The Keras optimizer's step in torch operations, on all variables at once.

    None where Keras' own ``optimizer.apply`` must run (``_optim.rule_for``:
    another optimizer or a subclass, a learning-rate schedule, clipping,
    EMA, loss scaling or gradient accumulation). ``settings``: the fit's
    values of the rule's settings (the trainer's optimizer, shared by fits
    of one structure, holds stand-ins). During an epoch the weights and the
    optimizer's slots live in one flat buffer each, so a step is a handful
    of operations whatever the number of layers (one kernel launch each on
    a GPU); between epochs they are the Keras variables' again, so warm
    starts, ``save`` and callbacks that change the learning rate all see
    Keras' state.
    """
    config = {**optimizer.get_config(), **(settings or {})}
    rule = rule_for(type(optimizer), config)
    if rule is None or not isinstance(optimizer.learning_rate, keras.Variable):
        return None
    layout = Layout.of(optimizer, params, rule)
    if layout is None:  # a Keras release that names its slots otherwise
        return None
    variables = optimizer.variables
    slots = [[variables[i] for i in indices] for indices in layout.slots]
    make = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop}
    rates, step = make[rule.kind](config)
    decay = config.get("weight_decay") if rule.weight_decay else None
    return _FlatUpdate(optimizer, params, slots, rates, step, decay)


class _FlatUpdate:
    """``begin`` an epoch (the weights to differentiate), ``step``, ``end``."""

    def __init__(self, optimizer, params, slots, rates, step, decay):
        self.optimizer, self.decay = optimizer, decay
        self.rates_rule, self.step_rule = rates, step
        self.groups = [params, *slots]  # Keras variables, one list per buffer
        self.sizes = [int(np.prod(p.shape)) for p in params]
        self.shapes = [tuple(p.shape) for p in params]

    @torch.no_grad()
    def begin(self, n_steps: int) -> list:
        self.flat = [
            torch.cat([v.value.reshape(-1) for v in group]) for group in self.groups
        ]
        dtype = self.flat[0].dtype
        lr = self.optimizer.learning_rate.value.to(dtype)
        # Keras counts steps from 1. The learning rate is constant within an
        # epoch, so each step's rate (Adam's bias-corrected one) is computed
        # here for the whole epoch, not at every step.
        t = self.optimizer.iterations.value.to(dtype) + torch.arange(
            1, n_steps + 1, dtype=dtype, device=lr.device
        )
        self.rates = self.rates_rule(lr, t)
        self.keep = 1.0 - self.decay * lr if self.decay else None
        self.n_steps = 0
        return [
            part.view(shape).detach().requires_grad_()
            for part, shape in zip(
                self.flat[0].split(self.sizes), self.shapes, strict=True
            )
        ]

    @torch.no_grad()
    def step(self, grads) -> None:
        g = torch.cat([grad.reshape(-1) for grad in grads])
        if self.keep is not None:  # Keras decays the weights before the update
            self.flat[0].mul_(self.keep)
        self.step_rule(g, self.rates[self.n_steps], *self.flat)
        self.n_steps += 1

    @torch.no_grad()
    def end(self) -> None:
        for group, flat in zip(self.groups, self.flat, strict=True):
            for variable, part in zip(group, flat.split(self.sizes), strict=True):
                variable.value.copy_(part.view(variable.shape))
        self.optimizer.iterations.value.add_(self.n_steps)
        del self.flat


# Each rule, in Keras' formulas (as _optim's, in place on flat buffers):
# ``rates(lr, t)``: each step's rate from the learning rate and the step
# numbers, and ``step(g, rate, weights, *slots)`` on the flat buffers.


def _constant_rate(lr, t):
    return lr.expand(t.shape)


def _sgd(config):
    momentum, nesterov = config["momentum"], config["nesterov"]

    def step(g, lr, w, m=None):
        change = g * lr
        if m is None:
            w.sub_(change)
            return
        m.mul_(momentum).sub_(change)
        w.add_(m * momentum - change if nesterov else m)

    return _constant_rate, step


def _adam(config):
    beta_1, beta_2, epsilon = config["beta_1"], config["beta_2"], config["epsilon"]

    def rates(lr, t):
        return lr * torch.sqrt(1 - beta_2**t) / (1 - beta_1**t)

    def step(g, alpha, w, m, v, v_hat=None):
        m.lerp_(g, 1 - beta_1)
        v.lerp_(g * g, 1 - beta_2)
        if v_hat is not None:
            v = torch.maximum(v_hat, v, out=v_hat)
        w.sub_(m * alpha / (v.sqrt() + epsilon))

    return rates, step


def _rmsprop(config):
    rho, momentum = config["rho"], config["momentum"]
    epsilon, centered = config["epsilon"], config["centered"]

    def step(g, lr, w, velocity, *rest):
        m = rest[0] if momentum > 0 else None
        velocity.lerp_(g * g, 1 - rho)
        if centered:
            average = rest[-1].lerp_(g, 1 - rho)
            denominator = velocity - average * average + epsilon
        else:
            denominator = velocity + epsilon
        increment = lr * g / denominator.sqrt()
        w.sub_(increment if m is None else m.mul_(momentum).add_(increment))

    return _constant_rate, step


def _affine(h, kernel, bias):
    # One fused call, not Keras' matmul and add (each with its own dtype
    # checks): about 14 us less per layer and step on a CPU.
    return torch.addmm(bias, h, kernel)


class Trainer(_stateful.Trainer):
    def configure(self, hyper: np.ndarray) -> None:
        rule = self.program.optimizer_rule
        settings = None
        if rule is not None:
            settings = rule.settings(hyper[len(hyper) - rule.size() :])
        self.update = plain_update(self.optimizer, self.params, settings)

    def epoch(self, data, hyper_vec, seed, shuffle):
        program, b = self.program, self.program.batch_size
        X, Y, W = data
        hyper = program.hyper(hyper_vec)
        n = X.shape[0]
        generator = torch.Generator(device=X.device)
        generator.manual_seed(int(seed[0]) << 32 | int(seed[1]))
        if shuffle:
            order = torch.randperm(n, generator=generator, device=X.device)
        else:
            order = torch.arange(n, device=X.device)

        def dropout(h, rate, layer):
            noise = torch.rand(h.shape, generator=generator, device=h.device)
            return torch.where(noise >= rate, h / (1.0 - rate), 0.0)

        update = self.update
        if update is not None:
            params = update.begin(-(-n // b))
        else:
            params = [v.value for v in self.params]
        # Sums stay on the device: a Python number turned into a device tensor
        # at each step would wait for the GPU every step.
        loss_sum = hits_sum = torch.zeros((), dtype=X.dtype, device=X.device)
        for start in range(0, n, b):
            idx = order[start : start + b]
            xb, yb, wb = X[idx], Y[idx], W[idx]
            state = [v.value for v in self.state]
            out, new_state, activity = program.forward(
                params,
                state,
                xb,
                hyper,
                training=True,
                dropout=dropout,
                affine=_affine,
            )
            count = xb.shape[0]
            data_loss = torch.sum(program.per_sample_loss(yb, out) * wb) / count
            loss = data_loss + activity + program.weight_penalty_value(params, hyper)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                if update is not None:
                    update.step(grads)
                else:
                    self.optimizer.apply(list(grads), self.params)
                for variable, value in zip(self.state, new_state, strict=True):
                    variable.assign(value)
                loss_sum = loss_sum + loss * count
                if program.has_accuracy:
                    hits_sum = hits_sum + torch.sum(program.correct(yb, out) * wb)
        if update is not None:
            update.end()
        count = torch.full((), n, dtype=X.dtype, device=X.device)
        # Every row is visited once an epoch.
        return torch.stack([loss_sum, count, hits_sum, torch.sum(W)])

    @torch.no_grad()
    def evaluate(self, data, hyper_vec):
        program, b = self.program, self.program.batch_size
        X, Y, W = data
        hyper = program.hyper(hyper_vec)
        params = [v.value for v in self.params]
        state = [v.value for v in self.state]
        loss_sum = hits_sum = torch.zeros((), dtype=X.dtype, device=X.device)
        for start in range(0, X.shape[0], b):
            xb, yb, wb = (
                X[start : start + b],
                Y[start : start + b],
                W[start : start + b],
            )
            out, _, activity = program.forward(
                params, state, xb, hyper, training=False, affine=_affine
            )
            loss_sum = loss_sum + (
                torch.sum(program.per_sample_loss(yb, out) * wb)
                + activity * xb.shape[0]
            )
            if program.has_accuracy:
                hits_sum = hits_sum + torch.sum(program.correct(yb, out) * wb)
        n = X.shape[0]
        loss_sum = loss_sum + program.weight_penalty_value(params, hyper) * n
        count = torch.full((), n, dtype=X.dtype, device=X.device)
        return torch.stack([loss_sum, count, hits_sum, torch.sum(W)])


class Session(_stateful.Session):
    trainer_class = Trainer
    snapshot_every_epoch = True
