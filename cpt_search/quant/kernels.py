"""Range-based uniform fake quantization, the arithmetic of docs/method.md §3, tuned for eager CPU.

Every function here works on plain tensors under ``torch.no_grad()``; the autograd wiring
(straight-through estimators, the error quantizer) lives in :mod:`cpt_search.quant.functions`.

The formula (CPT and Better Schedules, asymmetric with zero point = min)::

    scale = max((max - min) / (2^b - 1), 1e-8)
    x_q   = clamp(round((x - min) / scale [+ U(-0.5, 0.5) when stochastic]), 0, 2^b - 1)
    x_hat = x_q * scale + min

Why the code looks the way it does (measured on the 2-core CPU of this project, 2M-element tensor):

* ``amin`` + ``amax`` cost 0.19 ms together, ``torch.aminmax`` 0.31 ms and ``min``/``max`` 0.58 ms.
* In-place ops with Python-float operands run at about 0.09 ms; out-of-place ones pay an allocation
  (0.19 ms); ops whose scalar is a 0-dim tensor (``addcmul`` with tensor scalars) take 0.9 ms. So on the
  CPU the range is read back once as Python floats and everything after it is an in-place chain. On
  other devices the scalars stay 0-dim tensors so nothing synchronises.
* ``mul_`` by the reciprocal is twice as fast as ``div_``; it can differ from the division in the last
  bit, which only decides rounding at exact ties (measure zero, and still a valid nearest level).
* ``clamp`` is skipped for round-to-nearest with the tensor's own range: ``(x - min) / scale`` then
  lies in ``[0, 2^b - 1]`` up to one ulp, which rounding absorbs. It is kept where it matters: a
  running (EMA) range in evaluation, and stochastic rounding.
* Fresh uniform noise costs 2 ns per element (``uniform_``, 4 ms for 2M elements, more than the
  whole quantizer), so stochastic rounding draws its noise from a table of i.i.d. U(-0.5, 0.5) values
  at a random offset per call (:class:`NoiseTable`). Each element still gets a uniform noise value,
  so rounding stays unbiased; a slice of the table is redrawn on every call so it never goes stale.
"""

from __future__ import annotations

import random

import torch

# The papers' floor on the step size: a constant tensor quantizes to itself instead of dividing by 0.
MIN_SCALE = 1e-8


def num_levels(bits: int) -> int:
    """Largest integer level for ``bits`` bits: ``2^bits - 1``."""
    return (1 << bits) - 1


def tensor_range(x: torch.Tensor) -> tuple:
    """Per-tensor ``(min, max)``: Python floats on the CPU, 0-dim tensors elsewhere (no sync)."""
    lo, hi = x.amin(), x.amax()
    if x.device.type == "cpu":
        return lo.item(), hi.item()
    return lo, hi


def scale_and_inverse(lo, hi, bits: int):
    levels = num_levels(bits)
    if isinstance(lo, float):
        scale = max((hi - lo) / levels, MIN_SCALE)
        return scale, 1.0 / scale
    scale = ((hi - lo) / levels).clamp_(min=MIN_SCALE)
    return scale, scale.reciprocal()


def quantize_with_range(
    x: torch.Tensor, bits: int, lo, hi, *, clamp: bool, noise: torch.Tensor | None = None
) -> torch.Tensor:
    """Fake-quantize ``x`` to ``bits`` bits on the grid ``lo + k * scale`` (a new tensor).

    Args:
        x: tensor to quantize (any layout; the result has the same layout).
        bits: bit width, 1..31.
        lo, hi: the range (floats or 0-dim tensors); ``hi - lo`` is spread over ``2^bits - 1`` steps.
        clamp: clamp the level to ``[0, 2^bits - 1]``; needed when ``x`` may leave ``[lo, hi]`` or
            when ``noise`` is given.
        noise: optional U(-0.5, 0.5) values shaped and strided like ``x`` (stochastic rounding).
    """
    scale, inverse = scale_and_inverse(lo, hi, bits)
    q = torch.sub(x, lo)  # the only allocation: everything below reuses it
    q.mul_(inverse)
    if noise is not None:
        q.add_(noise)
    q.round_()
    if clamp:
        q.clamp_(0, num_levels(bits))
    return q.mul_(scale).add_(lo)


def quantize_nearest(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, object, object]:
    """Per-tensor round-to-nearest with the tensor's own min/max; returns ``(x_hat, min, max)``."""
    lo, hi = tensor_range(x)
    return quantize_with_range(x, bits, lo, hi, clamp=False), lo, hi


def quantize_per_channel(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Round-to-nearest with one min/max per output channel (dim 0), for weights."""
    flat = w.reshape(w.shape[0], -1)
    lo = flat.amin(dim=1, keepdim=True)
    hi = flat.amax(dim=1, keepdim=True)
    scale = (hi - lo).div_(num_levels(bits)).clamp_(min=MIN_SCALE)
    q = torch.sub(flat, lo).div_(scale).round_().mul_(scale).add_(lo)  # no clamp: own range
    return q.view(w.shape)  # contiguous; convolution picks its layout from the input anyway


class NoiseTable:
    """A reusable table of i.i.d. U(-0.5, 0.5) noise for stochastic rounding, one per device.

    ``window(like)`` returns a view of ``like.numel()`` consecutive table entries starting at a random
    offset, with ``like``'s shape and strides. The table holds at least twice the largest request, so
    offsets vary over at least as many positions as the window is long, and every call redraws a slice
    of ``numel / REFRESH_DIVISOR`` entries (round robin) so the whole table is renewed over time.
    Draws use torch's default generator (the table) and a ``random.Random`` seeded from it (the
    offsets), so ``torch.manual_seed`` makes runs repeatable.
    """

    MIN_ENTRIES = 1 << 22  # 16 MiB of float32: larger than any gradient of the small benchmark nets
    REFRESH_DIVISOR = 256  # redraw 1/256 of a window's size per call: ~1 % of one pass, renews the table
    ALIGN = 16  # offsets on 64-byte boundaries keep the vectorised loops on aligned loads

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device = device
        self.dtype = dtype
        self._table = torch.empty(0, device=device, dtype=dtype)
        self._rng = random.Random()
        self._refresh_at = 0

    def _grow(self, numel: int) -> None:
        size = max(self.MIN_ENTRIES, 2 * numel)
        size = -(-size // self.ALIGN) * self.ALIGN
        self._table = torch.rand(size, device=self.device, dtype=self.dtype).sub_(0.5)
        self._rng.seed(int(torch.randint(0, 2**62, (1,)).item()))
        self._refresh_at = 0

    def window(self, like: torch.Tensor) -> torch.Tensor:
        """Noise shaped and strided like ``like`` (which must be non-overlapping and dense)."""
        offset = self._draw_offset(like.numel())
        return self._table.as_strided(like.shape, like.stride(), offset)

    def flat_window(self, numel: int) -> torch.Tensor:
        """``numel`` consecutive noise values as a 1-D contiguous tensor (for kernels that walk storage)."""
        offset = self._draw_offset(numel)
        return self._table[offset : offset + numel]

    def _draw_offset(self, numel: int) -> int:
        if 2 * numel > self._table.numel():
            self._grow(numel)
        slots = (self._table.numel() - numel) // self.ALIGN
        offset = self._rng.randint(0, slots) * self.ALIGN
        self._refresh(max(1, numel // self.REFRESH_DIVISOR))
        return offset

    def _refresh(self, count: int) -> None:
        table = self._table
        start = self._refresh_at
        stop = min(start + count, table.numel())
        table[start:stop].uniform_(-0.5, 0.5)
        self._refresh_at = 0 if stop >= table.numel() else stop


_NOISE_TABLES: dict[tuple[torch.device, torch.dtype], NoiseTable] = {}


def noise_table(device: torch.device, dtype: torch.dtype) -> NoiseTable:
    """The process-wide noise table for ``device``/``dtype`` (created on first use)."""
    key = (device, dtype)
    table = _NOISE_TABLES.get(key)
    if table is None:
        table = _NOISE_TABLES[key] = NoiseTable(device, dtype)
    return table


def reset_noise_tables() -> None:
    """Forget the process-wide noise tables, so the next draw follows the current torch seed.

    A trial that calls ``torch.manual_seed`` then this rounds the same way whether or not an earlier
    trial ran in the same process (a reused Ray worker, a test session).
    """
    _NOISE_TABLES.clear()


def dense_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself when it is contiguous or channels-last, else a contiguous copy.

    Expanded gradients (``out.sum().backward()`` gives a stride-0 one) would otherwise map many
    elements onto one noise value.
    """
    if x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)):
        return x
    return x.contiguous()


def quantize_stochastic(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-tensor stochastic rounding with the tensor's own min/max (for errors), a new tensor."""
    x = dense_layout(x)
    lo, hi = tensor_range(x)
    noise = noise_table(x.device, x.dtype).window(x)
    if not isinstance(lo, float):
        return quantize_with_range(x, bits, lo, hi, clamp=True, noise=noise)
    scale, inverse = scale_and_inverse(lo, hi, bits)
    # noise + x / scale - min / scale in two passes instead of three (subtract, scale, add noise);
    # x >= min gives x * inv >= min * inv in floating point too, and the clamp bounds the top.
    q = torch.add(noise, x, alpha=inverse)
    q.sub_(lo * inverse).round_().clamp_(0, num_levels(bits))
    return q.mul_(scale).add_(lo)
