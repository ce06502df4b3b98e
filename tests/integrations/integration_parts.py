"""Shared pieces of the integration tests: a schedule whose every phase shows, a tiny model, data."""

from __future__ import annotations

import torch
from torch import nn

from cpt_search import preset

IN_FEATURES = 6


def schedule_under_test():
    """Cycling forward and gradient bits, a full-precision warm-up and a 12-bit cool-down: a wrong
    step index anywhere shows as a wrong (bits, grad_bits) pair."""
    return preset("CR", num_cycles=3, min_bits=3, max_bits=8, min_grad_bits=6, max_grad_bits=8,
                  warmup_frac=0.1, warmup_bits=32, cooldown_frac=0.2, cooldown_bits=12)


def expected_history(schedule, total_steps: int) -> list[tuple[int, int, int]]:
    bits, grad_bits = schedule.tracks(total_steps)
    return [(step, int(b), int(g)) for step, (b, g) in enumerate(zip(bits, grad_bits))]


def per_forward(history, forwards_per_step: int) -> list[tuple[int, int]]:
    """What the quantized layers should have recorded: each step's bits once per micro-batch."""
    return [(b, g) for _, b, g in history for _ in range(forwards_per_step)]


def tiny_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    # Three Linear layers: the first two are quantized, the classifier stays FP32 (QuantConfig()).
    return nn.Sequential(nn.Linear(IN_FEATURES, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))


def tiny_data(samples: int, seed: int = 0) -> torch.utils.data.TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, IN_FEATURES, generator=generator)
    y = (x[:, 0] > 0).long()
    return torch.utils.data.TensorDataset(x, y)


class LayerSpy:
    """Forward hooks on quantized layers: ``(training, bits, grad_bits)`` of every call as it ran."""

    def __init__(self, layers):
        self.calls: list[tuple[bool, int, int]] = []
        self._hooks = [layer.register_forward_hook(self._hook) for layer in layers]

    def _hook(self, layer, args, output):
        self.calls.append((layer.training, int(layer.bits), int(layer.grad_bits)))

    def eval_calls(self):
        return {(b, g) for training, b, g in self.calls if not training}


def as_tuples(history):
    return [tuple(int(v) for v in entry) for entry in history]

