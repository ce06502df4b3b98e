"""The papers' quantizer written the straightforward way: the oracle for tests, the baseline for speed.

This is docs/method.md §3 evaluated literally, in the elementwise style of CPT's ``quantize.py``
(github.com/GATECH-EIC/CPT, itself from Hoffer et al.'s quantized.pytorch): clone, subtract the min,
divide by the scale, add fresh ``uniform_(-0.5, 0.5)`` noise when stochastic, round, clamp, multiply,
add, with the range from ``min()``/``max()`` kept as tensors. Same semantics as
:mod:`cpt_search.quant.kernels` (per-tensor errors and activations, per-channel weights), none of its
tuning. Differences from CPT's code, on purpose: CPT's ``conv2d_biprec`` runs the convolution twice so
that only the input gradient sees the quantized error, and it averages per-sample gradient ranges;
docs/method.md §3 (and this project) quantize the error once, per tensor, for both gradients.

``quantize_reference_(model, config)`` swaps layers for twins that use these functions, so benchmarks
can time the papers' style against the tuned one on the same model.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import torch
from torch import nn

from cpt_search.quant.config import QuantConfig
from cpt_search.quant.handle import QuantHandle, quantize_with_twins
from cpt_search.quant.layers import QConv2d, QLinear, QuantLayer

if TYPE_CHECKING:
    # To the type checker the mixin is the QuantLayer it overrides; at run time a plain mixin.
    _ReferenceBase = QuantLayer
else:
    _ReferenceBase = object


def fake_quant(
    x: torch.Tensor,
    bits: int,
    lo: torch.Tensor | float | None = None,
    hi: torch.Tensor | float | None = None,
    *,
    stochastic: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """docs/method.md §3 verbatim: per-tensor range ``[lo, hi]`` (default: ``x``'s own min and max)."""
    with torch.no_grad():
        lo = x.min() if lo is None else torch.as_tensor(lo, dtype=x.dtype, device=x.device)
        hi = x.max() if hi is None else torch.as_tensor(hi, dtype=x.dtype, device=x.device)
        qmax = 2.0**bits - 1.0
        scale = torch.clamp((hi - lo) / qmax, min=1e-8)
        out = x.clone()
        out.sub_(lo).div_(scale)
        if stochastic:
            out.add_(torch.empty_like(out).uniform_(-0.5, 0.5, generator=generator))
        out.round_().clamp_(0.0, qmax)
        return out.mul_(scale).add_(lo)


def fake_quant_per_channel(w: torch.Tensor, bits: int) -> torch.Tensor:
    """docs/method.md §3 for weights: one min/max per output channel (dim 0), round to nearest."""
    with torch.no_grad():
        flat = w.flatten(1)
        shape = (-1,) + (1,) * (w.dim() - 1)
        lo = flat.min(dim=1)[0].view(shape)
        hi = flat.max(dim=1)[0].view(shape)
        qmax = 2.0**bits - 1.0
        scale = torch.clamp((hi - lo) / qmax, min=1e-8)
        out = w.clone()
        out.sub_(lo).div_(scale).round_().clamp_(0.0, qmax)
        return out.mul_(scale).add_(lo)


class _ReferenceSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, x_hat):
        return x_hat

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _ReferenceErrorQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y, grad_bits):
        ctx.grad_bits = grad_bits
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad):
        return fake_quant(grad, ctx.grad_bits, stochastic=True), None


class _ReferenceMixin(_ReferenceBase):
    """Overrides the tuned quantizers of a twin with the straightforward ones (no caching)."""

    def _quant_weight(self, weight, bits):
        return _ReferenceSTE.apply(weight, fake_quant_per_channel(weight, bits))

    def _quant_bias(self, bias, bits):
        return _ReferenceSTE.apply(bias, fake_quant(bias, bits))

    def _quant_input(self, x, bits):
        if self.training:
            with torch.no_grad():
                lo, hi = x.min(), x.max()
                if not bool(self.act_observed):
                    self.act_running_min.copy_(lo)
                    self.act_running_range.copy_(hi - lo)
                    self.act_observed.fill_(True)
                else:
                    m = self._act_momentum
                    self.act_running_min.mul_(m).add_(lo * (1 - m))
                    self.act_running_range.mul_(m).add_((hi - lo) * (1 - m))
            x_hat = fake_quant(x, bits, lo, hi)
        elif bool(self.act_observed):
            lo = self.act_running_min
            x_hat = fake_quant(x, bits, lo, lo + self.act_running_range)
        else:
            x_hat = fake_quant(x, bits)
        return _ReferenceSTE.apply(x, x_hat)

    def _quant_output(self, y, grad_bits):
        if grad_bits < 32 and self.training and y.requires_grad:
            return _ReferenceErrorQuant.apply(y, grad_bits)
        return y


class RefQConv2d(_ReferenceMixin, QConv2d):
    """``QConv2d`` with the papers'-style quantizer."""


class RefQLinear(_ReferenceMixin, QLinear):
    """``QLinear`` with the papers'-style quantizer."""


def quantize_reference_(model: nn.Module, config: QuantConfig | None = None) -> QuantHandle:
    """Like :func:`cpt_search.quant.quantize_`, with the papers'-style quantizer in every layer."""
    twins: dict = {nn.Conv2d: RefQConv2d, nn.Linear: RefQLinear}
    if "torch_geometric" in sys.modules:
        from cpt_search.quant.gcn import QGCNConv

        class RefQGCNConv(_ReferenceMixin, QGCNConv):
            """``QGCNConv`` with the papers'-style quantizer."""

        twins[QGCNConv.FLOAT_CLASS] = RefQGCNConv
    return quantize_with_twins(model, config or QuantConfig(), twins)
