"""Quantized twin of torch-geometric's ``GCNConv`` (imported only when torch-geometric is in use).

docs/method.md §3 for GNNs: the graph convolution's weight (per output channel), its input node features
(per tensor) and its bias (per tensor) at ``bits``, the error at its output at ``grad_bits``;
neighbour aggregation and the symmetric normalisation stay FP32. ``GCNConv.lin`` is torch-geometric's
own ``Linear`` (not ``nn.Linear``), so the twin applies the linear map itself with the quantized
weight instead of calling it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GCNConv, Linear
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from cpt_search.quant.layers import FULL_PRECISION_BITS, QuantLayer


class QGCNConv(QuantLayer, GCNConv):
    """``GCNConv`` with fake-quantized weight, node features, bias and output error."""

    FLOAT_CLASS = GCNConv
    _cached_edge_index: tuple[Tensor, Tensor | None] | None  # GCNConv's cache (set in its __init__)
    # The rest of GCNConv's state that forward reads (torch-geometric 2.8 ships no type information, and
    # the mixin is an nn.Module to mypy, whose __getattr__ would type these Tensor | Module).
    lin: Linear
    bias: Tensor | None
    improved: bool
    cached: bool
    add_self_loops: bool
    normalize: bool
    node_dim: int
    flow: str
    propagate: Callable[..., Tensor]  # MessagePassing.propagate(edge_index, size=None, **kwargs)

    def forward(self, x: Tensor, edge_index, edge_weight: Tensor | None = None) -> Tensor:
        bits, grad_bits = self._note_use()
        if bits >= FULL_PRECISION_BITS and grad_bits >= FULL_PRECISION_BITS:
            return GCNConv.forward(self, x, edge_index, edge_weight)
        if not isinstance(edge_index, Tensor):
            raise TypeError("quantized GCNConv supports edge_index tensors, not SparseTensor adjacency")
        edge_index, edge_weight = self._normalized(x, edge_index, edge_weight)
        weight, bias = self.lin.weight, self.bias
        if bits < FULL_PRECISION_BITS:
            x = self._quant_input(x, bits)
            weight = self._quant_weight(weight, bits)
            if bias is not None:
                bias = self._quant_bias(bias, bits)
        h = F.linear(x, weight, self.lin.bias)  # GCNConv builds lin without a bias
        out = self.propagate(edge_index, x=h, edge_weight=edge_weight)
        if bias is not None:
            out = out + bias
        return self._quant_output(out, grad_bits)

    def _normalized(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None):
        # The same normalisation and caching as GCNConv.forward (torch-geometric 2.8), in FP32.
        if not self.normalize:
            return edge_index, edge_weight
        cache = self._cached_edge_index
        if cache is not None:
            return cache[0], cache[1]
        edge_index, edge_weight = gcn_norm(
            edge_index, edge_weight, x.size(self.node_dim), self.improved, self.add_self_loops, self.flow,
            x.dtype,
        )
        if self.cached:
            self._cached_edge_index = (edge_index, edge_weight)
        return edge_index, edge_weight


__all__ = ["QGCNConv"]
