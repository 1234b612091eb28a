"""The common optimizers' updates, with their scalar settings as inputs.

Keras' optimizers read ``momentum``, ``beta_1``, ``rho`` and the like as
Python constants, so a compiled step holding Keras' update is compiled again
for every value: a search over ``momentum`` paid a compile per value (51x a
repeat fit on JAX). For SGD, Adam, AdamW and RMSprop the update is written
here once more, in Keras' formulas and on Keras' own optimizer variables
(``iterations``, ``learning_rate`` and the slots, in the order and under the
names Keras gives them), with the settings read from a vector that is an
input of the compiled step. What stays compiled in (the ``Rule``): which
slots exist (``momentum=0`` keeps none), Nesterov, AMSGrad, centring, and
whether weight decay is on. Any other optimizer, a subclass, a learning-rate
schedule, clipping, EMA, loss scaling or gradient accumulation keeps Keras'
own update, with its whole configuration compiled in.

The formulas follow Keras 3.14-3.15 (``keras/src/optimizers/sgd.py``,
``adam.py``, ``rmsprop.py``, ``base_optimizer.py``: weight decay before the
update, the step count incremented after); ``tests/test_engine.py`` checks
each against Keras' own optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._keras import keras

ops = keras.ops

# Constructor arguments that make Keras' update do more than the formulas
# here; with any of them set, Keras' own update runs.
_GENERIC_OFF = {
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}

# The settings each rule reads at run time, by Keras optimizer class name.
_SCALARS = {
    "SGD": ("momentum",),
    "Adam": ("beta_1", "beta_2", "epsilon"),
    "AdamW": ("beta_1", "beta_2", "epsilon"),
    "RMSprop": ("rho", "momentum", "epsilon"),
}


@dataclass(frozen=True)
class Rule:
    """The compiled-in structure of one optimizer's update."""

    kind: str  # "SGD", "Adam", "AdamW" or "RMSprop"
    momentum: bool = False  # SGD and RMSprop: momentum slots exist
    nesterov: bool = False
    amsgrad: bool = False
    centered: bool = False
    weight_decay: bool = False

    @property
    def scalars(self) -> tuple[str, ...]:
        """The settings read at run time, in the order of ``values``."""
        return _SCALARS[self.kind] + (("weight_decay",) if self.weight_decay else ())

    @property
    def slots(self) -> tuple[str, ...]:
        """Keras' names of the optimizer's slots, in Keras' order."""
        if self.kind == "SGD":
            return ("momentum",) if self.momentum else ()
        if self.kind in ("Adam", "AdamW"):
            return ("momentum", "velocity") + (
                ("velocity_hat",) if self.amsgrad else ()
            )
        return (
            ("velocity",)
            + (("momentum",) if self.momentum else ())
            + (("average_gradient",) if self.centered else ())
        )

    def layout_config(self) -> dict[str, Any]:
        """Constructor arguments that give Keras' optimizer this rule's slots.

        The values stand in for the real ones (which are inputs): they only
        make Keras create the same variables.
        """
        config: dict[str, Any] = {}
        if self.kind in ("SGD", "RMSprop"):
            config["momentum"] = 0.5 if self.momentum else 0.0
        if self.kind == "SGD":
            config["nesterov"] = self.nesterov
        if self.kind in ("Adam", "AdamW"):
            config["amsgrad"] = self.amsgrad
        if self.kind == "RMSprop":
            config["centered"] = self.centered
        config["weight_decay"] = 0.004 if self.weight_decay else None
        return config

    def values(self, config: dict[str, Any]) -> list[float]:
        """The run-time vector from an optimizer's configuration.

        Keras computes ``1 - beta_1`` and the like in Python (float64) and
        casts the result; the vector holds them computed the same way, so the
        updates agree with Keras' to the last bit where the backend allows.
        """
        out = []
        for name in self.scalars:
            value = float(config[name])
            out += (
                [value, 1.0 - value] if name in ("beta_1", "beta_2", "rho") else [value]
            )
        return out

    def settings(self, vector) -> dict[str, float]:
        """The settings ``values`` was made from (its inverse)."""
        vector, out = iter(float(v) for v in vector), {}
        for name in self.scalars:
            out[name] = next(vector)
            if name in ("beta_1", "beta_2", "rho"):
                next(vector)
        return out

    def size(self) -> int:
        return len(self.values({name: 0.0 for name in self.scalars}))

    def apply(self, layout: Layout, opt_vars, grads, params, vector):
        """New (params, optimizer variables): one step of Keras' update.

        Functional: nothing is assigned (JAX's step is stateless; the
        stateful engines assign the results).
        """
        opt_vars = list(opt_vars)
        dtype = params[0].dtype
        lr = ops.cast(opt_vars[layout.learning_rate], dtype)
        v = iter(vector[i] for i in range(self.size()))
        s = {}
        for name in self.scalars:
            s[name] = next(v)
            if name in ("beta_1", "beta_2", "rho"):
                s["1-" + name] = next(v)
        if self.weight_decay:
            params = [p - p * s["weight_decay"] * lr for p in params]
        slots = [[opt_vars[i] for i in indices] for indices in layout.slots]
        step = ops.cast(opt_vars[layout.iterations] + 1, dtype)
        new_params, new_slots = _UPDATES[self.kind](
            self, params, grads, slots, lr, step, s
        )
        for indices, values in zip(layout.slots, new_slots, strict=True):
            for i, value in zip(indices, values, strict=True):
                opt_vars[i] = value
        opt_vars[layout.iterations] = opt_vars[layout.iterations] + 1
        return new_params, opt_vars


def _sgd(rule, params, grads, slots, lr, step, s):
    if not rule.momentum:
        return [p - g * lr for p, g in zip(params, grads, strict=True)], []
    new_params, new_m = [], []
    for p, g, m in zip(params, grads, slots[0], strict=True):
        m = m * s["momentum"] - g * lr
        new_m.append(m)
        new_params.append(p + (m * s["momentum"] - g * lr if rule.nesterov else m))
    return new_params, [new_m]


def _adam(rule, params, grads, slots, lr, step, s):
    alpha = (
        lr
        * ops.sqrt(1 - ops.power(s["beta_2"], step))
        / (1 - ops.power(s["beta_1"], step))
    )
    new_params, new_slots = [], [[] for _ in slots]
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        m = slots[0][i] + (g - slots[0][i]) * s["1-beta_1"]
        v = slots[1][i] + (ops.square(g) - slots[1][i]) * s["1-beta_2"]
        new_slots[0].append(m)
        new_slots[1].append(v)
        if rule.amsgrad:
            v = ops.maximum(slots[2][i], v)
            new_slots[2].append(v)
        new_params.append(p - (m * alpha) / (ops.sqrt(v) + s["epsilon"]))
    return new_params, new_slots


def _rmsprop(rule, params, grads, slots, lr, step, s):
    new_params, new_slots = [], [[] for _ in slots]
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        velocity = s["rho"] * slots[0][i] + s["1-rho"] * ops.square(g)
        new_slots[0].append(velocity)
        if rule.centered:
            average = s["rho"] * slots[-1][i] + s["1-rho"] * g
            new_slots[-1].append(average)
            denominator = velocity - ops.square(average) + s["epsilon"]
        else:
            denominator = velocity + s["epsilon"]
        increment = lr * g / ops.sqrt(denominator)
        if rule.momentum:
            m = s["momentum"] * slots[1][i] + increment
            new_slots[1].append(m)
            new_params.append(p - m)
        else:
            new_params.append(p - increment)
    return new_params, new_slots


_UPDATES = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop}


def rule_for(optimizer_class: type, config: dict[str, Any]) -> Rule | None:
    """The rule for a Keras optimizer of this class and configuration, or None.

    None where Keras' own update must run (see the module's docstring).
    """
    kind = optimizer_class.__name__
    # Keras' own class (on torch, a backend subclass of it), not a user's.
    if (
        kind not in _SCALARS
        or not optimizer_class.__module__.startswith("keras.")
        or not issubclass(optimizer_class, getattr(keras.optimizers, kind))
    ):
        return None
    if any(config.get(name) != value for name, value in _GENERIC_OFF.items()):
        return None
    if not isinstance(config.get("learning_rate"), (int, float)):
        return None  # a schedule
    decay = config.get("weight_decay")
    return Rule(
        kind=kind,
        momentum=bool(config.get("momentum", 0)),
        nesterov=bool(config.get("nesterov", False)),
        amsgrad=bool(config.get("amsgrad", False)),
        centered=bool(config.get("centered", False)),
        weight_decay=decay is not None and decay != 0,
    )


@dataclass(frozen=True)
class Layout:
    """Where a built Keras optimizer keeps what the rule reads and writes.

    Indices into ``optimizer.variables``: the step count, the learning rate,
    and per slot name one index per trainable variable.
    """

    iterations: int
    learning_rate: int
    slots: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, optimizer, params, rule: Rule) -> Layout | None:
        """The layout of ``optimizer`` built on ``params``; None if unknown.

        None where a Keras release names its slots otherwise than
        ``{variable}_{slot}``: Keras' own update then runs.
        """
        variables = list(optimizer.variables)
        position = {id(v): i for i, v in enumerate(variables)}
        by_name = {v.name: i for i, v in enumerate(variables)}

        def slot(variable, name):
            # Keras names a slot after its variable's path (or, in some
            # releases, its name).
            for prefix in (getattr(variable, "path", None), variable.name):
                key = f"{str(prefix).replace('/', '_')}_{name}"
                if prefix and key in by_name:
                    return by_name[key]
            raise KeyError(name)

        try:
            layout = cls(
                iterations=position[id(optimizer.iterations)],
                learning_rate=position[id(optimizer.learning_rate)],
                slots=tuple(
                    tuple(slot(p, name) for p in params) for name in rule.slots
                ),
            )
        except (KeyError, TypeError):
            return None
        used = 2 + sum(len(indices) for indices in layout.slots)
        return layout if used == len(variables) else None


def split(optimizer, params) -> tuple[Rule | None, dict[str, Any], list[float]]:
    """What of a built optimizer is compiled in, and what is an input.

    Returns the rule (None: Keras' update), the constructor arguments that
    go into the compiled program (all but the learning rate, or with a rule
    only those that shape its variables) and the rule's run-time values.
    """
    config = optimizer.get_config()
    config.pop("name", None)
    learning_rate = config.pop("learning_rate")
    if not isinstance(learning_rate, (int, float)):  # a schedule: compiled in
        config["learning_rate"] = learning_rate
    rule = rule_for(type(optimizer), {**config, "learning_rate": learning_rate})
    if rule is None or Layout.of(optimizer, params, rule) is None:
        return None, config, []
    return rule, rule.layout_config(), rule.values(config)
