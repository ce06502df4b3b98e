"""Quantized twins of ``nn.Conv2d`` and ``nn.Linear`` (and the shared per-layer quantization state).

A twin is the original module object with its class switched to a subclass (the way
``torch.nn.utils.parametrize`` does it), so parameters, hooks, and every reference to the module stay
valid, an optimizer built before :func:`cpt_search.quant.quantize_` keeps working, and the swap can be
undone. Per layer and step (docs/method.md §3):

* weights: per output channel min/max, round to nearest, straight-through backward;
* inputs (activations): per-tensor min/max of the batch in training, a running (EMA) min and range in
  evaluation, round to nearest, straight-through backward;
* errors (gradient into the layer output): per-tensor, stochastic rounding at ``grad_bits``;
* bias, and everything outside the layer, stays FP32 (the GCN twin quantizes its bias, see
  :mod:`cpt_search.quant.gcn`).

At ``bits == grad_bits == 32`` the forward is exactly the parent's: the same call with the same
tensors, nothing added but one attribute test.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.bits import FULL_PRECISION_BITS
from cpt_search.quant import kernels
from cpt_search.quant.functions import quantize_error, straight_through
from cpt_search.quant.kernels import quantize_nearest, quantize_per_channel

if TYPE_CHECKING:
    # To the type checker the mixin is the nn.Module every twin is (parameters, buffers, training,
    # extra_repr); at run time it stays a plain mixin, so a twin's MRO is unchanged.
    _MixinBase = nn.Module
else:
    _MixinBase = object


class QuantLayer(_MixinBase):
    """Mixin holding the bits a layer runs at, its running activation range, and what it used.

    Attributes:
        bits: forward bits (weights and inputs); 32 = FP32.
        grad_bits: error bits as set; the layer uses 32 when gradient quantization is off.
        act_running_min, act_running_range: EMA buffers (0-dim) of the input's min and range.
        act_observed: 0-dim bool buffer, True once a training batch initialised the EMA.
    """

    FLOAT_CLASS: type[nn.Module]
    # Registered by _quant_init (nn.Module.__getattr__ alone would type them Tensor | Module).
    act_running_min: torch.Tensor
    act_running_range: torch.Tensor
    act_observed: torch.Tensor

    # --- lifecycle -------------------------------------------------------------------------------
    def _quant_init(self, *, quantize_grads: bool, act_momentum: float, backend: str = "native") -> None:
        self.bits = FULL_PRECISION_BITS
        self.grad_bits = FULL_PRECISION_BITS
        self._quantize_grads = quantize_grads
        self._act_momentum = act_momentum
        self._backend = backend
        self._kernels = _backend_module(backend)
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        self.register_buffer("act_running_min", torch.zeros((), device=device))
        self.register_buffer("act_running_range", torch.zeros((), device=device))
        self.register_buffer("act_observed", torch.zeros((), dtype=torch.bool, device=device))
        self._act_seen = False  # mirrors act_observed without a device read per step
        # (input ref, its _version, bits, x_hat, min, max) of the last constant input, see _quant_input_train
        self._act_cache: tuple[weakref.ref[torch.Tensor], int, int, torch.Tensor, object, object] | None = None
        self._recording = False
        self._used_bits: list[tuple[int, int]] = []

    def _quant_remove(self) -> None:
        for name in ("act_running_min", "act_running_range", "act_observed"):
            del self._buffers[name]
        for name in (
            "bits",
            "grad_bits",
            "_quantize_grads",
            "_act_momentum",
            "_backend",
            "_kernels",
            "_act_seen",
            "_act_cache",
            "_recording",
            "_used_bits",
        ):
            self.__dict__.pop(name, None)

    def __getstate__(self):
        # Picklable (torch.save(model), Ray): drop the weakref-holding input cache and the kernel
        # module, both rebuilt on demand.
        state = self.__dict__.copy()
        state["_act_cache"] = None
        del state["_kernels"]
        return state

    def __setstate__(self, state):
        state = dict(state)
        state["_kernels"] = _backend_module(state["_backend"])
        super().__setstate__(state)

    # --- what the layer uses ---------------------------------------------------------------------
    @property
    def used_grad_bits(self) -> int:
        """The error bits this layer actually applies (32 when gradient quantization is off)."""
        return self.grad_bits if self._quantize_grads else FULL_PRECISION_BITS

    def _note_use(self) -> tuple[int, int]:
        used = (self.bits, self.used_grad_bits)
        if self._recording and self.training:
            self._used_bits.append(used)
        return used

    # --- the three quantizers --------------------------------------------------------------------
    def _quant_weight(self, weight: torch.Tensor, bits: int) -> torch.Tensor:
        with torch.no_grad():
            weight_hat = quantize_per_channel(weight, bits)
        return straight_through(weight, weight_hat)

    def _quant_input(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        if self.training:
            x_hat = self._quant_input_train(x, bits)
        else:
            with torch.no_grad():
                x_hat = self._quant_input_eval(x, bits)
        return straight_through(x, x_hat)

    def _quant_input_train(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        cache = self._act_cache
        if (
            cache is not None
            and cache[0]() is x
            and cache[1] == x._version
            and cache[2] == bits
        ):
            # Same unchanged tensor as last step (a GCN's node features): reuse its quantization.
            x_hat, lo, hi = cache[3], cache[4], cache[5]
        else:
            with torch.no_grad():
                x_hat, lo, hi = self._kernels.quantize_nearest(x, bits)
            # Only inputs that need no gradient are constant data worth keeping.
            self._act_cache = None if x.requires_grad else (weakref.ref(x), x._version, bits, x_hat, lo, hi)
        self._update_running_range(lo, hi)
        return x_hat

    def _quant_input_eval(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        if not self._act_seen and not bool(self.act_observed):
            # Never trained: there is no running range yet, so use the batch's own.
            return self._kernels.quantize_nearest(x, bits)[0]
        lo: torch.Tensor | float
        span: torch.Tensor | float
        if x.device.type == "cpu":
            lo, span = self.act_running_min.item(), self.act_running_range.item()
        else:
            lo, span = self.act_running_min, self.act_running_range
        return self._kernels.quantize_with_range(x, bits, lo, lo + span, clamp=True)

    def _update_running_range(self, lo, hi) -> None:
        with torch.no_grad():
            if not self._act_seen:
                self._act_seen = bool(self.act_observed)  # a loaded state dict may carry a range
            if not self._act_seen:
                # First batch initialises the EMA. CPT starts it from zeros, which after a handful of
                # steps leaves the evaluation range a fraction of the real one.
                self.act_running_min.fill_(lo)
                self.act_running_range.fill_(hi - lo)
                self.act_observed.fill_(True)
                self._act_seen = True
                return
            m = self._act_momentum
            self.act_running_min.mul_(m).add_((1.0 - m) * lo)
            self.act_running_range.mul_(m).add_((1.0 - m) * (hi - lo))

    def _quant_bias(self, bias: torch.Tensor, bits: int) -> torch.Tensor:
        """Per-tensor round-to-nearest of a bias vector, straight-through backward (GCN bias)."""
        with torch.no_grad():
            bias_hat = quantize_nearest(bias, bits)[0]
        return straight_through(bias, bias_hat)

    def _quant_output(self, y: torch.Tensor, grad_bits: int) -> torch.Tensor:
        if grad_bits < FULL_PRECISION_BITS and self.training:
            return quantize_error(y, grad_bits, self._kernels.quantize_stochastic)
        return y

    def _quantized_call(
        self, op, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """``op(input, weight, bias)`` at this layer's bits: input and weight fake-quantized, the
        error into the output marked for quantization; at 32/32 exactly ``op`` on the FP32 tensors.

        The twin passes its own ``weight`` and ``bias``: their types are its torch class's.
        """
        bits, grad_bits = self._note_use()
        if bits >= FULL_PRECISION_BITS and grad_bits >= FULL_PRECISION_BITS:
            return op(input, weight, bias)
        if bits < FULL_PRECISION_BITS:
            input = self._quant_input(input, bits)
            weight = self._quant_weight(weight, bits)
        return self._quant_output(op(input, weight, bias), grad_bits)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bits={self.bits}, grad_bits={self.used_grad_bits}"


def _backend_module(backend: str):
    """The module whose ``quantize_nearest`` / ``quantize_with_range`` / ``quantize_stochastic`` run."""
    if backend == "native":
        from cpt_search.quant import native

        return native
    if backend == "compile":
        from cpt_search.quant import compiled

        return compiled
    return kernels


class QConv2d(QuantLayer, nn.Conv2d):
    """``nn.Conv2d`` with fake-quantized weights, inputs and errors."""

    FLOAT_CLASS = nn.Conv2d

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self._quantized_call(self._conv_forward, input, self.weight, self.bias)


class QLinear(QuantLayer, nn.Linear):
    """``nn.Linear`` with fake-quantized weights, inputs and errors."""

    FLOAT_CLASS = nn.Linear

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self._quantized_call(F.linear, input, self.weight, self.bias)


__all__ = ["FULL_PRECISION_BITS", "QConv2d", "QLinear", "QuantLayer"]
