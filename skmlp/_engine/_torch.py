"""The torch engine: a lean eager loop over batches of tensors on the device.

Keras allows torch no multi-step compiled calls, and its ``fit`` pays for a
data pipeline and callbacks at every step. Here each step is the network's
forward pass, ``torch.autograd.grad`` and the Keras optimizer's update, on
data put on the device once per fit.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _stateful
from ._program import Hyper


class Trainer(_stateful.Trainer):
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
        sums = np.zeros(4)
        for start in range(0, X.shape[0], b):
            xb, yb, wb = (
                X[start : start + b],
                Y[start : start + b],
                W[start : start + b],
            )
            out, _, activity = program.forward(params, state, xb, hyper, training=False)
            count = xb.shape[0]
            sums += [
                float(
                    torch.sum(program.per_sample_loss(yb, out) * wb) + activity * count
                ),
                count,
                float(torch.sum(program.correct(yb, out) * wb))
                if program.has_accuracy
                else 0.0,
                float(torch.sum(wb)),
            ]
        sums[0] += float(program.weight_penalty_value(params, hyper)) * sums[1]
        return sums


class Session(_stateful.Session):
    trainer_class = Trainer
    snapshot_every_epoch = True
