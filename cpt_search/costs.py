"""Training cost in bit operations (Fu et al. 2021, sec. 4; Wolfe & Kyrillidis 2024).

Per training step, a layer with ``M`` multiply-accumulates per sample costs, in bit operations,

    forward GEMM     M * b * b      (weights x activations)
    backward error   M * b * g      (error x weights)
    weight gradient  M * b * g      (error x activations)

so ``M (b^2 + 2 b g)`` per sample, against ``3 M 32^2`` in full precision. Both papers charge one
bit-width to all of a network's MACs (the "paper" figure); layers that actually stay in FP32 (the
classifier, say) are then under-counted, so the honest figure charges them 32/32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from cpt_search.bits import FULL_PRECISION_BITS
from cpt_search.errors import ConfigError

if TYPE_CHECKING:  # schedule imports this module
    from cpt_search.schedule import Schedule

FP32_BITS = FULL_PRECISION_BITS
# Full-precision step cost per MAC: three GEMM-like products at 32 x 32 bits.
FP32_BITOPS_PER_MAC = 3 * FP32_BITS * FP32_BITS
# The usual static reference point: 8-bit forward, 8-bit gradients.
BASELINE_8_8_RELATIVE_COST = (8 * 8 + 2 * 8 * 8) / FP32_BITOPS_PER_MAC


@dataclass(frozen=True)
class LayerMacs:
    """Multiply-accumulates of one layer for one sample's forward pass.

    Attributes:
        name: the module's qualified name in the model.
        macs_per_sample: forward MACs per sample (one image, one sequence, one whole graph).
        quantized: whether the layer runs at the scheduled precision (else FP32).
    """

    name: str
    macs_per_sample: int
    quantized: bool


@dataclass(frozen=True)
class CostSummary:
    """Schedule-level cost figures, all relative (no model needed).

    Attributes:
        mean_bits, mean_grad_bits: mean forward and gradient bits over the steps.
        relative_cost: mean per-step cost relative to FP32.
        relative_cost_vs_8_8: the same relative to a static 8/8 run.
    """

    mean_bits: float
    mean_grad_bits: float
    relative_cost: float
    relative_cost_vs_8_8: float

    def to_dict(self) -> dict[str, float]:
        """Plain floats, for JSON and MLflow."""
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class BitopsReport:
    """Absolute training bit operations of one run.

    Attributes:
        bitops: per-layer accounting (FP32 layers at 32/32), summed over steps and samples.
        paper_bitops: the papers' accounting (every layer at the scheduled bits).
        fp32_bitops: the same run in full precision, for ratios.
    """

    bitops: float
    paper_bitops: float
    fp32_bitops: float

    @property
    def relative_cost(self) -> float:
        """``bitops / fp32_bitops``."""
        return self.bitops / self.fp32_bitops if self.fp32_bitops else 0.0


def step_bitops_per_mac(bits: np.ndarray | int, grad_bits: np.ndarray | int) -> np.ndarray:
    """Bit operations per MAC of one training step: ``b^2 + 2 b g`` (vectorised)."""
    b = np.asarray(bits, dtype=np.float64)
    g = np.asarray(grad_bits, dtype=np.float64)
    return b * b + 2.0 * b * g


def relative_step_cost(bits: np.ndarray | int, grad_bits: np.ndarray | int) -> np.ndarray:
    """Per-step cost relative to FP32: ``(b^2 + 2 b g) / (3 * 32^2)`` (vectorised)."""
    return step_bitops_per_mac(bits, grad_bits) / FP32_BITOPS_PER_MAC


def summarize_tracks(bits: np.ndarray, grad_bits: np.ndarray) -> CostSummary:
    """Mean bits and mean relative cost of per-step tracks."""
    bits, grad_bits = _check_tracks(bits, grad_bits)
    relative = float(relative_step_cost(bits, grad_bits).mean())
    return CostSummary(
        mean_bits=float(bits.mean()),
        mean_grad_bits=float(grad_bits.mean()),
        relative_cost=relative,
        relative_cost_vs_8_8=relative / BASELINE_8_8_RELATIVE_COST,
    )


def summarize_schedule(schedule: Schedule, total_steps: int) -> CostSummary:
    """:func:`summarize_tracks` of a schedule over ``total_steps`` steps."""
    return summarize_tracks(*schedule.tracks(total_steps))


def training_bitops(
    bits: np.ndarray,
    grad_bits: np.ndarray,
    layers: Sequence[LayerMacs],
    samples_per_step: np.ndarray | int,
) -> BitopsReport:
    """Training bit operations from per-layer MACs and per-step bits.

    Args:
        bits, grad_bits: the bits used at each step (one entry per optimizer step).
        layers: MACs per sample of every layer that computes (quantized or not).
        samples_per_step: samples in each step's batch (an int, or one entry per step).
    """
    bits, grad_bits = _check_tracks(bits, grad_bits)
    samples = np.broadcast_to(np.asarray(samples_per_step, dtype=np.float64), bits.shape)
    quantized_macs = float(sum(layer.macs_per_sample for layer in layers if layer.quantized))
    fp32_macs = float(sum(layer.macs_per_sample for layer in layers if not layer.quantized))
    per_mac = step_bitops_per_mac(bits, grad_bits)
    sample_total = float(samples.sum())
    return BitopsReport(
        bitops=float((samples * per_mac).sum()) * quantized_macs
        + sample_total * fp32_macs * FP32_BITOPS_PER_MAC,
        paper_bitops=float((samples * per_mac).sum()) * (quantized_macs + fp32_macs),
        fp32_bitops=sample_total * (quantized_macs + fp32_macs) * FP32_BITOPS_PER_MAC,
    )


def _check_tracks(bits: np.ndarray, grad_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bits = np.asarray(bits)
    grad_bits = np.asarray(grad_bits)
    if bits.shape != grad_bits.shape or bits.ndim != 1 or bits.size == 0:
        raise ConfigError("bit tracks must be equal-length, non-empty 1-D arrays", key="bits",
                          value=f"shapes {bits.shape} and {grad_bits.shape}",
                          fix="pass one bits and one grad_bits entry per step")
    return bits, grad_bits
