"""The arithmetic of docs/method.md §3: levels, ranges, stochastic rounding.

Every activation/error quantizer test runs against both implementations: the eager ATen chains
(:mod:`cpt_search.quant.kernels`) and the fused C++ kernels (:mod:`cpt_search.quant.native`).
"""

from __future__ import annotations

import pytest
import torch

from cpt_search.quant import kernels, native
from cpt_search.quant.reference import fake_quant, fake_quant_per_channel

BITS = [1, 2, 3, 4, 8]


@pytest.fixture(params=["eager", "native"])
def q(request):
    """The module whose quantize_nearest / quantize_with_range / quantize_stochastic are under test."""
    return kernels if request.param == "eager" else native


def _assert_nearest_levels(x: torch.Tensor, x_hat: torch.Tensor, lo, hi, bits: int) -> None:
    """x_hat = lo + k * scale with k the nearest integer to (x - lo) / scale (ties either way)."""
    x, x_hat, lo, hi = (torch.as_tensor(v, dtype=torch.float64) for v in (x, x_hat, lo, hi))
    scale = torch.clamp((hi - lo) / (2**bits - 1), min=1e-8)
    k = (x_hat - lo) / scale
    assert torch.allclose(k, k.round(), atol=1e-3), "output is not on the level grid"
    k = k.round()
    assert k.min() >= 0 and k.max() <= 2**bits - 1
    exact = ((x - lo) / scale).clamp(0, 2**bits - 1)
    assert (k - exact).abs().max() <= 0.5 + 1e-4, "not the nearest level"


@pytest.mark.parametrize("bits", BITS)
def test_per_tensor_nearest_matches_formula(q, bits):
    x = torch.randn(4, 5, 6, 7) * 3 + 1
    x_hat, lo, hi = q.quantize_nearest(x, bits)
    assert (lo, hi) == (x.min().item(), x.max().item())
    _assert_nearest_levels(x, x_hat, lo, hi, bits)
    assert len(torch.unique(x_hat)) <= 2**bits
    # the extremes are levels 0 and 2^b - 1 exactly
    assert x_hat.min().item() == pytest.approx(lo, abs=1e-6)
    assert x_hat.max().item() == pytest.approx(hi, rel=1e-6, abs=1e-6)
    ref = fake_quant(x, bits)
    assert torch.allclose(x_hat, ref, atol=1e-5 * (hi - lo))


def test_one_and_two_bits_exact_values(q):
    x = torch.tensor([-1.0, -0.4, 0.1, 0.2, 0.9, 2.0])
    # 1 bit: levels {-1, 2}; midpoint 0.5
    x1, _, _ = q.quantize_nearest(x, 1)
    assert x1.tolist() == [-1.0, -1.0, -1.0, -1.0, 2.0, 2.0]
    # 2 bits: scale 1, levels {-1, 0, 1, 2}
    x2, _, _ = q.quantize_nearest(x, 2)
    assert x2.tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0, 2.0]


@pytest.mark.parametrize("bits", BITS)
def test_per_channel_weights_use_each_channels_range(bits):
    w = torch.randn(6, 3, 3, 3) * torch.arange(1, 7).view(6, 1, 1, 1)
    w_hat = kernels.quantize_per_channel(w, bits)
    assert w_hat.shape == w.shape
    for c in range(6):
        _assert_nearest_levels(w[c], w_hat[c], w[c].min(), w[c].max(), bits)
    assert torch.allclose(w_hat, fake_quant_per_channel(w, bits), atol=1e-5)
    # per-tensor would give channel 0 far fewer distinct values than per-channel does
    assert len(torch.unique(w_hat[0])) == len(torch.unique(kernels.quantize_nearest(w[0], bits)[0]))


def test_constant_tensor_quantizes_to_itself(q):
    x = torch.full((10,), 0.3)
    assert torch.equal(q.quantize_nearest(x, 4)[0], x)
    assert torch.equal(q.quantize_stochastic(x, 4), x)


def test_running_range_clamps_outliers(q):
    x = torch.tensor([-5.0, 0.0, 0.5, 1.0, 9.0])
    out = q.quantize_with_range(x, 2, 0.0, 1.5, clamp=True)  # levels 0, .5, 1, 1.5
    assert out.tolist() == [0.0, 0.0, 0.5, 1.0, 1.5]


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_stochastic_rounding_is_unbiased_and_hits_only_neighbours(q, bits):
    torch.manual_seed(0)
    # values between levels at all fractional positions, with the range pinned by two end points
    levels = 2**bits - 1
    inner = torch.linspace(0.05, levels - 0.05, 2000, dtype=torch.float32)
    x = torch.cat([torch.tensor([0.0, float(levels)]), inner])
    draws = torch.stack([q.quantize_stochastic(x, bits) for _ in range(400)])
    # scale is exactly 1 here: the output must be floor(x) or ceil(x)
    assert torch.all((draws == x.floor()) | (draws == x.ceil()))
    bias = draws.mean(0) - x
    # 400 draws: per element the mean's std is sqrt(f(1-f)) / 20 <= 0.025, so E|bias| ~ 0.016;
    # the signed mean over 2000 elements has std ~ 0.0005
    assert bias[2:].abs().mean() < 0.025
    assert bias[2:].mean().abs() < 0.003
    # round-to-nearest has a systematic error here that the same test rejects
    nearest_bias = q.quantize_nearest(x, bits)[0] - x
    assert nearest_bias[2:].abs().mean() > 0.2


def test_stochastic_rounding_probability_equals_fraction(q):
    torch.manual_seed(1)
    x = torch.tensor([0.0, 0.3, 1.0])  # 1 bit: levels 0 and 1, 0.3 rounds up 30 % of the time
    ups = sum(q.quantize_stochastic(x, 1)[1].item() for _ in range(4000))
    assert 0.3 * 4000 - 120 < ups < 0.3 * 4000 + 120  # > 4 sigma either way


def test_stochastic_rounding_handles_expanded_gradients(q):
    torch.manual_seed(2)
    # stride (0, 1): 1000 rows alias the same 3 values; each element must still get its own noise
    expanded = torch.tensor([0.0, 0.25, 1.0]).expand(1000, 3)
    out = q.quantize_stochastic(expanded, 1)  # levels 0 and 1
    assert 0.2 < out[:, 1].mean().item() < 0.3


def test_noise_table_windows_are_uniform_and_vary():
    table = kernels.NoiseTable(torch.device("cpu"), torch.float32)
    like = torch.empty(1000, 3)
    a, b = table.window(like), table.window(like)
    assert a.shape == like.shape and a.stride() == like.stride()
    assert a.min() >= -0.5 and a.max() < 0.5
    assert not torch.equal(a, b)
    assert abs(a.mean().item()) < 0.03
    cl = torch.empty(2, 3, 4, 5).to(memory_format=torch.channels_last)
    assert table.window(cl).stride() == cl.stride()


def test_reset_noise_tables_makes_rounding_follow_the_seed(q):
    x = torch.linspace(0, 1, 1000)
    torch.manual_seed(5)
    kernels.reset_noise_tables()
    first = q.quantize_stochastic(x, 2)
    q.quantize_stochastic(x, 2)  # advances offsets and refreshes part of the table
    torch.manual_seed(5)
    kernels.reset_noise_tables()
    assert torch.equal(q.quantize_stochastic(x, 2), first)
