"""Fake quantization for cyclic precision training (docs/method.md §3).

::

    from cpt_search.quant import QuantConfig, quantize_, count_macs

    handle = quantize_(model, QuantConfig())   # swaps Conv2d / Linear / GCNConv in place
    handle.set_bits(6, 8)                      # before each training step; 32 = exact FP32
    layers = count_macs(model, example_batch, handle=handle)   # -> list[LayerMacs]

Modules: :mod:`~cpt_search.quant.config` (what to quantize), :mod:`~cpt_search.quant.kernels` (the
arithmetic), :mod:`~cpt_search.quant.functions` (autograd: straight-through and the error quantizer),
:mod:`~cpt_search.quant.layers` and :mod:`~cpt_search.quant.gcn` (the quantized twins),
:mod:`~cpt_search.quant.handle` (``quantize_`` and the handle), :mod:`~cpt_search.quant.macs`
(MAC counting), :mod:`~cpt_search.quant.reference` (the papers' straightforward quantizer, the
baseline for tests and benchmarks).
"""

from cpt_search.quant.config import QuantConfig
from cpt_search.quant.handle import QuantHandle, handle_of, quantize_, supported_layers
from cpt_search.quant.layers import FULL_PRECISION_BITS
from cpt_search.quant.macs import count_macs

__all__ = ["FULL_PRECISION_BITS", "QuantConfig", "QuantHandle", "count_macs", "handle_of", "quantize_",
           "supported_layers"]
