"""What to fake-quantize in a model: inert data, applied by :func:`cpt_search.quant.quantize_`.

Modelled on torchao's configs: a frozen dataclass that says *what*, and one verb that does it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpt_search.errors import ConfigError

BACKENDS = ("native", "eager", "compile")


@dataclass(frozen=True)
class QuantConfig:
    """Which layers to quantize and how (docs/method.md §3).

    Attributes:
        quantize_first_layer: quantize the first supported layer (CIFAR models in both papers do;
            ImageNet models keep it FP32).
        quantize_last_layer: quantize the last supported layer, usually the classifier; the papers keep
            it FP32.
        quantize_grads: quantize the errors (gradients into layer outputs) at ``grad_bits``; when
            False the backward stays FP32 and the layers report ``grad_bits == 32``.
        exclude: names (as in ``model.named_modules()``) or shell-style patterns (``"layer1.*"``) of
            supported layers to keep in FP32. A name that matches no supported layer is an error.
        act_momentum: momentum of the running (EMA) activation min and range used in evaluation,
            ``running = momentum * running + (1 - momentum) * batch`` (CPT uses 0.9).
        backend: ``"native"`` (default: fused C++ kernels, one pass per quantizer, built once per
            machine; falls back to eager with a warning where no C++ compiler exists), ``"eager"``
            (tuned in-place ATen chains, nothing to build) or ``"compile"`` (``torch.compile``d
            quantizers; measured slower than eager on this CPU). ``benchmarks/quant_overhead.py``
            compares them.
    """

    quantize_first_layer: bool = True
    quantize_last_layer: bool = False
    quantize_grads: bool = True
    exclude: tuple[str, ...] = ()
    act_momentum: float = 0.9
    backend: str = "native"

    def __post_init__(self) -> None:
        if isinstance(self.exclude, str):
            raise ConfigError(
                "exclude must be a tuple of module names, not one string",
                where="QuantConfig",
                key="exclude",
                value=self.exclude,
                fix=f"write exclude=({self.exclude!r},)",
            )
        object.__setattr__(self, "exclude", tuple(self.exclude))
        for name in self.exclude:
            if not isinstance(name, str) or not name:
                raise ConfigError(
                    "every exclude entry must be a non-empty module name",
                    where="QuantConfig",
                    key="exclude",
                    value=name,
                    fix="use names from model.named_modules()",
                )
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"backend must be one of {', '.join(BACKENDS)}",
                where="QuantConfig",
                key="backend",
                value=self.backend,
                fix='use "native" (the default), or "eager" to avoid building C++ kernels',
            )
        if not 0.0 <= self.act_momentum < 1.0:
            raise ConfigError(
                "0 <= act_momentum < 1 must hold",
                where="QuantConfig",
                key="act_momentum",
                value=self.act_momentum,
                fix="use 0.9 as CPT does",
            )
