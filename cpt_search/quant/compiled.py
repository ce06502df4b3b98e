"""``torch.compile``d activation and error quantizers (``QuantConfig(backend="compile")``).

The same arithmetic as :mod:`cpt_search.quant.kernels`, but Inductor fuses each quantizer into one
reduction pass (min and max together) and one elementwise pass, where the eager chain makes five to
seven passes over the tensor. The bit width enters as a 0-dim tensor and shapes are dynamic, so
changing bits every step, or a smaller last batch, does not recompile. Stochastic rounding reads its
noise from the same :class:`~cpt_search.quant.kernels.NoiseTable` as the eager path (one extra read
stream, no RNG state inside the compiled graph). Weights stay eager: they are small.

Compilation happens on first use in each process (seconds, see the benchmark) and is then served
from Inductor's on-disk cache in later processes.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import torch

from cpt_search.quant import kernels
from cpt_search.quant.kernels import MIN_SCALE, dense_layout, noise_table, num_levels

logger = logging.getLogger(__name__)

_LEVELS: dict[tuple[int, torch.device], torch.Tensor] = {}
_COMPILED: dict[str, object] = {}
compile_seconds: dict[str, float] = {}  # first-call wall time per kernel, for reports


def _levels(bits: int, device: torch.device) -> torch.Tensor:
    key = (bits, device)
    value = _LEVELS.get(key)
    if value is None:
        value = _LEVELS[key] = torch.tensor(float(num_levels(bits)), device=device)
    return value


def _nearest(x: torch.Tensor, levels: torch.Tensor):
    lo, hi = x.amin(), x.amax()
    scale = torch.clamp((hi - lo) / levels, min=MIN_SCALE)
    return torch.round((x - lo) * (1.0 / scale)) * scale + lo, lo, hi


def _with_range(x: torch.Tensor, levels: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor):
    scale = torch.clamp((hi - lo) / levels, min=MIN_SCALE)
    q = torch.clamp(torch.round((x - lo) * (1.0 / scale)), min=0.0)
    return torch.minimum(q, levels) * scale + lo


def _stochastic(x: torch.Tensor, noise: torch.Tensor, levels: torch.Tensor):
    lo, hi = x.amin(), x.amax()
    scale = torch.clamp((hi - lo) / levels, min=MIN_SCALE)
    q = torch.clamp(torch.round((x - lo) * (1.0 / scale) + noise), min=0.0)
    return torch.minimum(q, levels) * scale + lo


_SOURCES: dict[str, Callable[..., torch.Tensor]] = {"nearest": _nearest, "with_range": _with_range,
                                                    "stochastic": _stochastic}


def _kernel(name: str):
    fn = _COMPILED.get(name)
    if fn is None:
        fn = _COMPILED[name] = torch.compile(_SOURCES[name], dynamic=True, fullgraph=True)
    return fn


def _flat(x: torch.Tensor) -> torch.Tensor:
    # Elementwise work does not care about order: viewing every dense tensor (contiguous or
    # channels-last) as its 1-D storage gives one compiled graph for all ranks and layouts, where
    # per-rank graphs (and a separate one for a size-1 channel dim) hit Dynamo's recompile limit.
    return x.as_strided((x.numel(),), (1,), x.storage_offset())


def _unflat(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return y.as_strided(like.shape, like.stride())


def _timed(name: str, *args):
    fn = _kernel(name)
    if name in compile_seconds:
        return fn(*args)
    start = time.perf_counter()
    out = fn(*args)
    compile_seconds[name] = time.perf_counter() - start
    logger.info("compiled the %s quantizer in %.1f s", name, compile_seconds[name])
    return out


_broken: list[str] = []  # set once compilation failed: the eager kernels take over for good


def _fallback(error: Exception) -> None:
    if not _broken:
        logger.warning("torch.compile of the quantizers failed (%s); using the eager kernels", error)
        _broken.append(str(error))


def quantize_nearest(x: torch.Tensor, bits: int):
    """Compiled :func:`cpt_search.quant.kernels.quantize_nearest`: ``(x_hat, min, max)``."""
    if not _broken:
        try:
            return _quantize_nearest(x, bits)
        except Exception as error:  # noqa: BLE001 - no C++ compiler, Dynamo limits: training must go on
            _fallback(error)
    return kernels.quantize_nearest(x, bits)


def quantize_with_range(x: torch.Tensor, bits: int, lo, hi, *, clamp: bool = True) -> torch.Tensor:
    """Compiled round-to-nearest on a given range, always clamped (evaluation, running range)."""
    if not _broken:
        try:
            return _quantize_with_range(x, bits, lo, hi)
        except Exception as error:  # noqa: BLE001 - see quantize_nearest
            _fallback(error)
    return kernels.quantize_with_range(x, bits, lo, hi, clamp=True)


def quantize_stochastic(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Compiled :func:`cpt_search.quant.kernels.quantize_stochastic`."""
    if not _broken:
        try:
            return _quantize_stochastic(x, bits)
        except Exception as error:  # noqa: BLE001 - see quantize_nearest
            _fallback(error)
    return kernels.quantize_stochastic(x, bits)


def _quantize_nearest(x: torch.Tensor, bits: int):
    x = dense_layout(x)
    x_hat, lo, hi = _timed("nearest", _flat(x), _levels(bits, x.device))
    x_hat = _unflat(x_hat, x)
    if x.device.type == "cpu":
        return x_hat, lo.item(), hi.item()
    return x_hat, lo, hi


def _quantize_with_range(x: torch.Tensor, bits: int, lo, hi) -> torch.Tensor:
    x = dense_layout(x)
    lo = torch.as_tensor(lo, dtype=x.dtype, device=x.device)
    hi = torch.as_tensor(hi, dtype=x.dtype, device=x.device)
    return _unflat(_timed("with_range", _flat(x), _levels(bits, x.device), lo, hi), x)


def _quantize_stochastic(x: torch.Tensor, bits: int) -> torch.Tensor:
    x = dense_layout(x)
    flat = _flat(x)
    noise = noise_table(x.device, x.dtype).window(flat)
    return _unflat(_timed("stochastic", flat, noise, _levels(bits, x.device)), x)
