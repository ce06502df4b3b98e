"""count_macs: exact per-sample MACs, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cpt_search.costs import LayerMacs
from cpt_search.quant import QuantConfig, count_macs, quantize_


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1)  # 8x8 in, 8x8 out
        self.dw = nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1, groups=4)  # 4x4 out
        self.bn = nn.BatchNorm2d(8)
        self.fc1 = nn.Linear(8 * 4 * 4, 10)
        self.fc2 = nn.Linear(10, 4)

    def forward(self, x):
        x = self.bn(self.dw(torch.relu(self.conv(x))))
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


CONV = 8 * 8 * 8 * 3 * 3 * 3  # out pixels * out channels * in channels * k * k
DW = 4 * 4 * 8 * (8 // 4) * 3 * 3
FC1 = 128 * 10
FC2 = 10 * 4


def test_tiny_net_by_hand_with_handle():
    net = _Tiny()
    handle = quantize_(net, QuantConfig())
    layers = count_macs(net, torch.randn(5, 3, 8, 8), handle=handle)
    assert layers == [
        LayerMacs("conv", CONV, True),
        LayerMacs("dw", DW, True),
        LayerMacs("fc1", FC1, True),
        LayerMacs("fc2", FC2, False),
    ]


def test_unquantized_model_and_training_flags_restored():
    net = _Tiny().train()
    net.bn.eval()
    before = net.bn.running_mean.clone()
    layers = count_macs(net, torch.randn(2, 3, 8, 8))
    assert [m.macs_per_sample for m in layers] == [CONV, DW, FC1, FC2]
    assert not any(m.quantized for m in layers)
    assert net.training and not net.bn.training and net.conv.training
    assert torch.equal(net.bn.running_mean, before)


def test_linear_on_sequences_and_repeated_calls():
    cell = nn.Linear(6, 6)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.lstm = cell, nn.LSTM(6, 5, num_layers=2, batch_first=True)

        def forward(self, x):  # x: (batch, steps=7, 6)
            h = x
            for _ in range(3):
                h = self.cell(h)
            return self.lstm(h)[0]

    layers = count_macs(Recurrent(), torch.randn(4, 7, 6))
    lstm = 7 * 4 * 5 * (6 + 5) + 7 * 4 * 5 * (5 + 5)  # per layer: steps * gates*hidden * (in + hidden)
    assert [(m.name, m.macs_per_sample) for m in layers] == [("cell", 3 * 7 * 36), ("lstm", lstm)]


def test_gcn_counts_the_linear_map_of_the_whole_graph():
    from torch_geometric.nn import GCNConv

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(12, 4), GCNConv(4, 3)

        def forward(self, x, edge_index):
            return self.conv2(torch.relu(self.conv1(x, edge_index)), edge_index)

    net = GCN()
    handle = quantize_(net)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    layers = count_macs(net, torch.randn(9, 12), edge_index, handle=handle)
    assert layers == [LayerMacs("conv1", 9 * 12 * 4, True), LayerMacs("conv2", 9 * 4 * 3, False)]


def test_explicit_batch_size():
    net = nn.Sequential(nn.Linear(3, 2))
    assert count_macs(net, torch.randn(6, 3), batch_size=3)[0].macs_per_sample == 2 * 6 * 3 // 3
