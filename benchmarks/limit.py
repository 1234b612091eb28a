"""The "limit" contender: the MLP trained by a hand-written JAX loop.

What the hardware does with no framework around it: 784-128-128-10 ReLU,
Adam (Keras' constants), batch 128, each epoch one jitted ``lax.scan`` over
shuffled batches, the data on the device. No validation, no callbacks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _init(key, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        key, sub = jax.random.split(key)
        limit = np.sqrt(6 / (fan_in + fan_out))  # Glorot uniform
        params.append(
            (jax.random.uniform(sub, (fan_in, fan_out), minval=-limit, maxval=limit), jnp.zeros(fan_out))
        )  # fmt: skip
    return params


def _loss(params, x, y):
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    logits = x @ params[-1][0] + params[-1][1]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))


@jax.jit
def _epoch(params, m, v, t, X, Y, key, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    n_steps = X.shape[0] // 128
    order = jax.random.permutation(key, X.shape[0])[: n_steps * 128].reshape(
        n_steps, 128
    )

    def step(carry, idx):
        params, m, v, t = carry
        grads = jax.grad(_loss)(params, X[idx], Y[idx])
        t = t + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        alpha = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        params = jax.tree.map(
            lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps), params, m, v
        )
        return (params, m, v, t), None

    return jax.lax.scan(step, (params, m, v, t), order)[0]


def fit(X, y, epochs: int, seed: int = 0):
    """Train and return the parameters (blocking until the device is done)."""
    key = jax.random.PRNGKey(seed)
    params = _init(key, (X.shape[1], 128, 128, 10))
    zeros = jax.tree.map(jnp.zeros_like, params)
    state = (params, zeros, zeros, jnp.float32(0))
    X, Y = jax.device_put(X), jax.device_put(y.astype(np.int32))
    for epoch in range(epochs):
        state = _epoch(*state, X, Y, jax.random.fold_in(key, epoch))
    return jax.block_until_ready(state[0])
