"""Autograd wiring of the quantizers (docs/method.md §3).

* :class:`StraightThrough`: the forward value is a precomputed fake-quantized tensor, the backward is
  the identity onto the unquantized input (the straight-through estimator used by both papers for
  weights and activations). One autograd node instead of the ``x + (q - x).detach()`` trick, which
  would cost two extra passes over the tensor.
* :class:`ErrorQuantizer`: identity in the forward; in the backward the gradient flowing into the
  layer output (the "error") is stochastically rounded to ``g`` bits over its own per-tensor range.
"""

from __future__ import annotations

import torch

from cpt_search.quant.kernels import quantize_stochastic


class StraightThrough(torch.autograd.Function):
    """``forward(x, x_hat) = x_hat``; ``d/dx = identity`` (no gradient to ``x_hat``)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        return x_hat

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


class ErrorQuantizer(torch.autograd.Function):
    """Identity forward; the backward quantizes the incoming gradient to ``grad_bits`` bits."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, grad_bits: int, quantizer) -> torch.Tensor:
        ctx.grad_bits = grad_bits
        ctx.quantizer = quantizer
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # Never in place: the same gradient tensor can feed two branches (a residual add passes its
        # incoming gradient unchanged to both summands).
        return ctx.quantizer(grad, ctx.grad_bits), None, None


def straight_through(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """``x_hat`` in the forward, gradient straight through to ``x`` when ``x`` needs one."""
    if x.requires_grad and torch.is_grad_enabled():
        return StraightThrough.apply(x, x_hat)
    return x_hat


def quantize_error(y: torch.Tensor, grad_bits: int, quantizer=quantize_stochastic) -> torch.Tensor:
    """Mark ``y`` so that the gradient reaching it is quantized to ``grad_bits`` bits by ``quantizer``."""
    if y.requires_grad and torch.is_grad_enabled():
        return ErrorQuantizer.apply(y, grad_bits, quantizer)
    return y
