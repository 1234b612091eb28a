"""The torch engine: a lean eager loop over batches of tensors on the device.

Keras allows torch no multi-step compiled calls, and its ``fit`` pays for a
data pipeline and callbacks at every step. Here each step is the network's
forward pass, ``torch.autograd.grad`` and the optimizer's update, on data put
on the device once per fit.

On a GPU an eager step is fast only if it never waits for the device: any
Python number turned into a device tensor, or a device number read back, is
such a wait. Keras' torch optimizers do both at every step (``ops.cast`` of
``beta_1``, the iteration count, SGD's ``alpha=-learning_rate``), so the
common optimizers' updates are written here once more, in torch operations on
the Keras optimizer's own variables, with Keras' formulas; the others use
``optimizer.apply``.
"""

from __future__ import annotations

import torch

from .._keras import keras
from . import _stateful
from ._program import Hyper

# Constructor arguments that make Keras' update do more than the formulas
# below; with any of them set, ``optimizer.apply`` runs.
_GENERIC_OFF = {
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def plain_update(optimizer, params):
    """``update(grads)``: the Keras optimizer's step in torch operations.

    None where Keras' own ``optimizer.apply`` must run: another optimizer or
    a subclass, a learning-rate schedule, clipping, EMA, loss scaling or
    gradient accumulation. The variables are the optimizer's own, updated in
    place, so its state is Keras' state (warm starts, ``save``, callbacks
    that change the learning rate all see it).
    """
    cls, config = type(optimizer), optimizer.get_config()
    kind = cls.__name__ if cls.__module__.startswith("keras.") else None
    if kind not in ("SGD", "Adam", "AdamW", "RMSprop") or any(
        config.get(name) != value for name, value in _GENERIC_OFF.items()
    ):
        return None
    if not isinstance(optimizer.learning_rate, keras.Variable):
        return None
    by_name = {v.name: v.value for v in optimizer.variables}

    def slots(name):
        return [by_name[f"{p.name}_{name}"] for p in params]

    variables = [p.value for p in params]
    dtype = variables[0].dtype
    iterations = optimizer.iterations.value
    learning_rate = optimizer.learning_rate.value
    decay = config.get("weight_decay")
    make = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop}[kind]
    try:
        step = make(config, variables, slots, iterations)
    except KeyError:  # a Keras release that names its slots otherwise
        return None

    def update(grads):
        lr = learning_rate.to(dtype)
        if decay:  # Keras decays every variable before the update
            keep = 1.0 - decay * lr
            for v in variables:
                v.mul_(keep)
        step(grads, lr)
        iterations.add_(1)

    return update


def _sgd(config, variables, slots, iterations):
    momentum, nesterov = config["momentum"], config["nesterov"]
    buffers = slots("momentum") if momentum else None

    def step(grads, lr):
        for i, (v, g) in enumerate(zip(variables, grads, strict=True)):
            change = g * lr
            if buffers is None:
                v.sub_(change)
                continue
            m = buffers[i].mul_(momentum).sub_(change)
            v.add_(m * momentum - change if nesterov else m)

    return step


def _adam(config, variables, slots, iterations):
    beta_1, beta_2, epsilon = config["beta_1"], config["beta_2"], config["epsilon"]
    ms, vs = slots("momentum"), slots("velocity")
    v_hats = slots("velocity_hat") if config["amsgrad"] else None

    def step(grads, lr):
        t = (iterations + 1).to(lr.dtype)
        alpha = lr * torch.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for i, (var, g) in enumerate(zip(variables, grads, strict=True)):
            m, v = ms[i], vs[i]
            m.lerp_(g, 1 - beta_1)
            v.lerp_(g * g, 1 - beta_2)
            if v_hats is not None:
                v = torch.maximum(v_hats[i], v, out=v_hats[i])
            var.sub_(m * alpha / (v.sqrt() + epsilon))

    return step


def _rmsprop(config, variables, slots, iterations):
    rho, momentum = config["rho"], config["momentum"]
    epsilon, centered = config["epsilon"], config["centered"]
    velocities = slots("velocity")
    momentums = slots("momentum") if momentum > 0 else None
    averages = slots("average_gradient") if centered else None

    def step(grads, lr):
        for i, (var, g) in enumerate(zip(variables, grads, strict=True)):
            velocity = velocities[i].lerp_(g * g, 1 - rho)
            if averages is not None:
                average = averages[i].lerp_(g, 1 - rho)
                denominator = velocity - average * average + epsilon
            else:
                denominator = velocity + epsilon
            increment = lr * g / denominator.sqrt()
            if momentums is not None:
                var.sub_(momentums[i].mul_(momentum).add_(increment))
            else:
                var.sub_(increment)

    return step


class Trainer(_stateful.Trainer):
    def __init__(self, program):
        super().__init__(program)
        self.update = plain_update(self.optimizer, self.params)

    def epoch(self, data, hyper_vec, seed, shuffle):
        program, b = self.program, self.program.batch_size
        X, Y, W = data
        hyper = Hyper(hyper_vec)
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

        params = [v.value for v in self.params]
        # Sums stay on the device: a Python number turned into a device tensor
        # at each step would wait for the GPU every step.
        loss_sum = hits_sum = weight_sum = torch.zeros(
            (), dtype=X.dtype, device=X.device
        )
        for start in range(0, n, b):
            idx = order[start : start + b]
            xb, yb, wb = X[idx], Y[idx], W[idx]
            state = [v.value for v in self.state]
            out, new_state, activity = program.forward(
                params, state, xb, hyper, training=True, dropout=dropout
            )
            count = xb.shape[0]
            data_loss = torch.sum(program.per_sample_loss(yb, out) * wb) / count
            loss = data_loss + activity + program.weight_penalty_value(params, hyper)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                if self.update is not None:
                    self.update(grads)
                else:
                    self.optimizer.apply(list(grads), self.params)
                for variable, value in zip(self.state, new_state, strict=True):
                    variable.assign(value)
                loss_sum = loss_sum + loss * count
                weight_sum = weight_sum + torch.sum(wb)
                if program.has_accuracy:
                    hits_sum = hits_sum + torch.sum(program.correct(yb, out) * wb)
        count = torch.full((), n, dtype=X.dtype, device=X.device)
        return torch.stack([loss_sum, count, hits_sum, weight_sum])

    @torch.no_grad()
    def evaluate(self, data, hyper_vec):
        program, b = self.program, self.program.batch_size
        X, Y, W = data
        hyper = Hyper(hyper_vec)
        params = [v.value for v in self.params]
        state = [v.value for v in self.state]
        loss_sum = hits_sum = torch.zeros((), dtype=X.dtype, device=X.device)
        for start in range(0, X.shape[0], b):
            xb, yb, wb = (
                X[start : start + b],
                Y[start : start + b],
                W[start : start + b],
            )
            out, _, activity = program.forward(params, state, xb, hyper, training=False)
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
