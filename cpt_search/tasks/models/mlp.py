"""A multi-layer perceptron for small flattened images (sklearn digits)."""

from __future__ import annotations

from torch import nn


class MLP(nn.Module):
    """``in -> hidden -> hidden -> classes`` with ReLU."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
            nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.net(x)
