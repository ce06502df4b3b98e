"""``quantize_(model, config)``: swap supported layers for quantized twins, return a handle.

The handle is the trainer's remote control: ``set_bits`` before each step, ``recorded_bits`` to check
what the layers really used, ``restore`` to undo the swap.
"""

from __future__ import annotations

import difflib
import fnmatch
import logging
import sys
from typing import Any

from torch import nn

from cpt_search.bits import check_bits
from cpt_search.errors import ConfigError
from cpt_search.quant.config import QuantConfig
from cpt_search.quant.layers import FULL_PRECISION_BITS, QConv2d, QLinear, QuantLayer

logger = logging.getLogger(__name__)


def _twin_classes() -> dict[type[nn.Module], type[QuantLayer]]:
    """Exact FP32 class -> quantized twin. Subclasses are left alone: their forward may differ."""
    twins: dict[type[nn.Module], type[QuantLayer]] = {nn.Conv2d: QConv2d, nn.Linear: QLinear}
    if "torch_geometric" in sys.modules:  # a model cannot hold a GCNConv unless PyG is imported
        from cpt_search.quant.gcn import QGCNConv

        twins[QGCNConv.FLOAT_CLASS] = QGCNConv
    return twins


def supported_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs :func:`quantize_` can quantize, in ``named_modules()`` order."""
    twins = _twin_classes()
    return [(name, m) for name, m in model.named_modules() if type(m) in twins or isinstance(m, QuantLayer)]


def _check_bits(value, key: str) -> int:
    return check_bits(key, value, where="QuantHandle.set_bits")


class QuantHandle:
    """The quantized layers of one model and the precision they run at.

    Attributes:
        model: the model that was quantized in place.
        config: the :class:`QuantConfig` used.
    """

    def __init__(self, model: nn.Module, config: QuantConfig, layers: list[tuple[str, QuantLayer]]) -> None:
        self.model = model
        self.config = config
        self._layers = layers
        self._bits = (FULL_PRECISION_BITS, FULL_PRECISION_BITS)
        self._recording = False
        self._records: list[dict[str, tuple[int, int]]] = []
        self._hooks: list = []

    @property
    def layer_names(self) -> list[str]:
        """Names of the quantized layers, in ``named_modules()`` order."""
        return [name for name, _ in self._layers]

    @property
    def layers(self) -> list[QuantLayer]:
        """The quantized layer modules, in the order of :attr:`layer_names`."""
        return [layer for _, layer in self._layers]

    @property
    def kernels(self) -> str:
        """The quantizer kernels the layers run: ``native``, ``eager`` or ``compile``.

        ``eager`` for the native backend where its C++ kernels could not be built, or where the model
        is not on the CPU (the native kernels handle float32 CPU tensors only).
        """
        if self.config.backend != "native":
            return self.config.backend
        from cpt_search.quant import native

        on_cpu = all(p.device.type == "cpu" for p in self.model.parameters())
        return "native" if on_cpu and native.available() else "eager"

    @property
    def bits(self) -> tuple[int, int]:
        """``(bits, grad_bits)`` currently set (32/32 until :meth:`set_bits` is called)."""
        return self._bits

    def set_bits(self, bits: int, grad_bits: int) -> None:
        """Run every quantized layer at ``bits`` forward and ``grad_bits`` for errors from now on.

        Plain attribute writes: nothing recompiles or reallocates when the bits change every step.
        """
        bits = _check_bits(bits, "bits")
        grad_bits = _check_bits(grad_bits, "grad_bits")
        for _, layer in self._layers:
            layer.bits = bits
            layer.grad_bits = grad_bits
        self._bits = (bits, grad_bits)

    # --- recording what the layers used ----------------------------------------------------------
    def start_recording(self) -> None:
        """Record, per training forward of the model, the ``(bits, grad_bits)`` the layers used.

        The values are read from the layers as they run (not from this handle), so a trainer can
        check that its schedule really reached the model. Evaluation forwards are not recorded.
        """
        if self._recording:
            return
        self._recording = True
        for _, layer in self._layers:
            layer._used_bits.clear()
            layer._recording = True
        self._hooks = [
            self.model.register_forward_pre_hook(self._begin_forward),
            self.model.register_forward_hook(self._end_forward),
        ]

    def stop_recording(self) -> None:
        """Stop recording; what was recorded stays in :attr:`recorded_bits`."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        for _, layer in self._layers:
            layer._recording = False
            layer._used_bits.clear()
        self._recording = False

    def clear_recording(self) -> None:
        """Forget what was recorded so far."""
        self._records.clear()

    def _begin_forward(self, module, args) -> None:
        for _, layer in self._layers:
            layer._used_bits.clear()

    def _end_forward(self, module, args, output) -> None:
        used: dict[str, Any] = {name: layer._used_bits[0] for name, layer in self._layers if layer._used_bits}
        for name, layer in self._layers:
            if len(set(layer._used_bits)) > 1:
                used[name] = ("mixed", tuple(layer._used_bits))  # bits changed inside one forward
            layer._used_bits.clear()
        if used:
            self._records.append(used)

    @property
    def recorded_layer_bits(self) -> list[dict[str, tuple[int, int]]]:
        """Per recorded training forward: quantized layer name -> ``(bits, grad_bits)`` it used."""
        return [dict(record) for record in self._records]

    @property
    def recorded_bits(self) -> list[tuple[int, int]]:
        """Per recorded training forward, the ``(bits, grad_bits)`` all quantized layers used.

        Raises:
            RuntimeError: layers disagreed within one forward (something set them individually).
        """
        out = []
        for index, record in enumerate(self._records):
            distinct = set(record.values())
            if len(distinct) != 1 or any(value[0] == "mixed" for value in distinct):
                raise RuntimeError(f"layers used different bits in recorded forward {index}: {record}")
            out.append(distinct.pop())
        return out

    # --- undo ------------------------------------------------------------------------------------
    def restore(self) -> None:
        """Turn the quantized layers back into their FP32 classes (same objects, same parameters)."""
        self.stop_recording()
        for _, layer in self._layers:
            layer._quant_remove()
            layer.__class__ = layer.FLOAT_CLASS  # type: ignore[assignment]  # the swap back is the point
        self._layers = []

    def __repr__(self) -> str:
        return f"QuantHandle(layers={len(self._layers)}, bits={self._bits})"


def handle_of(model: nn.Module) -> QuantHandle:
    """A handle on the layers of a model that :func:`quantize_` already swapped.

    For code that gets a quantized model without its handle (a trainer that re-creates a callback
    on resume). Its ``config`` carries the layers' own settings (gradient quantization, activation
    momentum, backend); which layers were left in FP32 is not recorded and shows as the defaults.

    Raises:
        ConfigError: the model holds no quantized layer.
    """
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, QuantLayer)]
    if not layers:
        raise ConfigError("the model holds no quantized layer", where="handle_of",
                          fix="call quantize_(model) first")
    first = layers[0][1]
    config = QuantConfig(quantize_grads=first._quantize_grads, act_momentum=first._act_momentum,
                         backend=first._backend)
    return QuantHandle(model, config, layers)


def _resolve_excluded(config: QuantConfig, names: list[str]) -> set[str]:
    excluded: set[str] = set()
    for pattern in config.exclude:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            close = difflib.get_close_matches(pattern, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                "exclude names must match a quantizable layer (Conv2d, Linear, GCNConv) of the model",
                where="QuantConfig",
                key="exclude",
                value=pattern,
                fix=f"{hint}known layers: {', '.join(names) or '(none)'}",
            )
        excluded.update(matched)
    return excluded


def quantize_(model: nn.Module, config: QuantConfig | None = None) -> QuantHandle:
    """Swap the supported layers of ``model`` for quantized twins, in place, and return a handle.

    Supported: exact ``nn.Conv2d``, ``nn.Linear`` and torch-geometric ``GCNConv`` modules. "First" and
    "last" are the first and last supported layers in ``model.named_modules()`` order, whether or not
    excluded. The layers start at 32/32 bits (FP32) until :meth:`QuantHandle.set_bits`.

    Raises:
        ConfigError: the model was already quantized, or an ``exclude`` entry matches no layer.
    """
    return quantize_with_twins(model, config or QuantConfig(), _twin_classes())


def quantize_with_twins(
    model: nn.Module, config: QuantConfig, twins: dict[type[nn.Module], type[QuantLayer]]
) -> QuantHandle:
    """:func:`quantize_` with an explicit FP32 class -> twin table (the reference quantizer uses it)."""
    candidates = [(name, m) for name, m in model.named_modules() if type(m) in twins or isinstance(m, QuantLayer)]
    if any(isinstance(m, QuantLayer) for _, m in candidates):
        raise ConfigError(
            "the model is already quantized",
            where="quantize_",
            fix="call handle.restore() before quantizing again, or reuse the first handle",
        )
    names = [name for name, _ in candidates]
    skip = _resolve_excluded(config, names)
    if candidates and not config.quantize_first_layer:
        skip.add(names[0])
    if candidates and not config.quantize_last_layer:
        skip.add(names[-1])
    layers: list[tuple[str, QuantLayer]] = []
    for name, module in candidates:
        if name in skip:
            continue
        module.__class__ = twins[type(module)]
        module._quant_init(
            quantize_grads=config.quantize_grads, act_momentum=config.act_momentum, backend=config.backend
        )
        layers.append((name, module))
    logger.debug("quantized %d of %d layers; FP32: %s", len(layers), len(candidates), sorted(skip))
    return QuantHandle(model, config, layers)
