"""``cora/gcn`` and ``citeseer/gcn``: Kipf & Welling's 2-layer GCN, full batch, as in PyG's gcn.py.

16 hidden channels, dropout 0.5 on the input and hidden features, Adam at 0.01 with weight decay
5e-4 on the first layer only (Kipf's setting). One epoch is one full-graph optimizer step, so a
"sample" for the cost model is the whole graph. Both graph convolutions are quantized (docs/method.md §3:
weight, node features and bias at b bits; aggregation and normalisation in FP32).
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.data import DataOptions, planetoid
from cpt_search.tasks.base import Evaluation, Prepared, Task
from cpt_search.tasks.budgets import GraphBudget


class GCN(nn.Module):
    """Two ``GCNConv`` layers with ReLU and dropout."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int,
                 dropout: float) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        # cached: the normalised adjacency of a fixed graph is computed once.
        self.conv1 = GCNConv(in_channels, hidden_channels, cached=True)
        self.conv2 = GCNConv(hidden_channels, out_channels, cached=True)
        self.dropout = dropout

        self._nonzero: tuple | None = None  # (key, rows, cols) of the fixed input features

    def input_dropout(self, x: torch.Tensor) -> torch.Tensor:
        """Dropout on the non-zero input features only (as Kipf's sparse dropout does).

        Same distribution as ``F.dropout(x)`` (a dropped zero stays zero), but it draws ~50 k
        numbers for Cora's 1.3 %-dense bag of words instead of 3.9 M: 40x faster on a CPU.
        """
        if not self.training or self.dropout == 0.0:
            return x
        key = (x.data_ptr(), tuple(x.shape))
        if self._nonzero is None or self._nonzero[0] != key:
            self._nonzero = (key, *x.nonzero(as_tuple=True))
        _, rows, cols = self._nonzero
        values = x[rows, cols]
        keep = torch.rand(values.shape, device=x.device) >= self.dropout
        out = torch.zeros_like(x)
        out[rows, cols] = values * keep / (1.0 - self.dropout)
        return out

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = self.input_dropout(x)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


class PlanetoidGCN(Task[GraphBudget]):
    """A GCN on one Planetoid graph: accuracy on the split's 500 validation nodes selects, on its
    1,000 test nodes reports (Yang et al. 2016's split, which Kipf & Welling tune on the same way)."""

    quantize_first_layer = True
    quantize_last_layer = True

    @property
    def graph(self) -> str:
        """The Planetoid graph (``cora``, ``citeseer``): the task's dataset."""
        return str(self.dataset)

    def prepare(self, budget: GraphBudget, options: DataOptions, device: torch.device) -> Prepared:
        data, num_features, num_classes = planetoid.load(self.graph, options)
        # Row-normalised features, as in PyG's gcn.py (T.NormalizeFeatures) and Kipf's code.
        data.x = data.x / data.x.sum(dim=1, keepdim=True).clamp_min(1.0)
        data = data.to(device)
        model = GCN(num_features, budget.hidden_channels, num_classes, budget.dropout).to(device)
        return Prepared(data=data, model=model, example_inputs=(data.x, data.edge_index),
                        steps_per_epoch=1, samples_per_step=1)

    def make_optimizer(self, model: nn.Module, budget: GraphBudget, total_steps: int):
        conv1: nn.Module = model.get_submodule("conv1")  # weight decay on the first layer only (Kipf & Welling)
        first = set(map(id, conv1.parameters()))
        rest = [p for p in model.parameters() if id(p) not in first]
        optimizer = torch.optim.Adam([
            {"params": list(conv1.parameters()), "weight_decay": budget.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ], lr=budget.lr)
        return optimizer, None

    def batches(self, prepared: Prepared, budget: GraphBudget,
                generator: torch.Generator) -> Iterator:
        yield prepared.data

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        out = model(batch.x, batch.edge_index)
        return F.cross_entropy(out[batch.train_mask], batch.y[batch.train_mask])

    def evaluate(self, model: nn.Module, prepared: Prepared, budget: GraphBudget) -> Evaluation:
        data = prepared.data
        pred = model(data.x, data.edge_index).argmax(dim=1)
        val = float((pred[data.val_mask] == data.y[data.val_mask]).float().mean())
        test = float((pred[data.test_mask] == data.y[data.test_mask]).float().mean())
        return Evaluation(metric=val, accuracy=val, test_metric=test)
