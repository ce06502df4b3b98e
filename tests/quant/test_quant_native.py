"""The fused C++ quantizers: built here, the eager results bit for bit, the formula for stochastic rounding."""

from __future__ import annotations

import copy
import io
import logging
import shutil

import pytest
import torch
from torch import nn

from cpt_search.quant import QuantConfig, kernels, native, quantize_
from cpt_search.quant.layers import QConv2d


def test_kernels_build_wherever_a_compiler_exists():
    # scripts/setup.sh builds them; silently running eager on a machine that could build them would
    # hide a slowdown of every trial, so this fails instead of skipping.
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler on this machine: the eager kernels run (tested in test_quant_kernels)")
    assert native.available(), native._state.get("error")


def _layouts():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, 5, 7, generator=g) * 2 - 0.5
    return {
        "contiguous": base,
        "channels_last": base.to(memory_format=torch.channels_last),
        "transposed": torch.randn(9, 33, generator=g).t(),
        "post_relu": base.relu(),
        "large": torch.randn(3, 70_000, generator=g),  # several parallel chunks
    }


@pytest.mark.parametrize("layout", list(_layouts()))
@pytest.mark.parametrize("bits", [1, 2, 4, 6, 8, 16])
def test_nearest_is_the_eager_result_bit_for_bit(layout, bits):
    x = _layouts()[layout]
    expected, lo, hi = kernels.quantize_nearest(x, bits)
    got, got_lo, got_hi = native.quantize_nearest(x, bits)
    assert (got_lo, got_hi) == (lo, hi)
    assert got.shape == x.shape
    assert torch.equal(got, expected)
    # the running-range variant clamps outliers exactly as the eager one
    ranged = kernels.quantize_with_range(x, bits, lo / 2, hi / 2, clamp=True)
    assert torch.equal(native.quantize_with_range(x, bits, lo / 2, hi / 2, clamp=True), ranged)


def test_channels_last_output_keeps_the_layout():
    x = _layouts()["channels_last"]
    out, _, _ = native.quantize_nearest(x, 4)
    assert out.stride() == x.stride()


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "large"])
@pytest.mark.parametrize("bits", [1, 3, 8])
def test_stochastic_is_the_formula_with_the_given_noise(layout, bits):
    x = _layouts()[layout]
    noise = torch.rand(x.numel(), generator=torch.Generator().manual_seed(bits)) - 0.5
    got = native.quantize_stochastic(x, bits, noise=noise)
    # docs/method.md §3, op by op in float32 (noise is read in x's storage order)
    lo, hi = x.min().item(), x.max().item()
    scale, inverse = kernels.scale_and_inverse(lo, hi, bits)
    noise_like_x = noise.as_strided(x.shape, x.stride())
    expected = ((x - lo) * inverse + noise_like_x).round().clamp(0, 2**bits - 1) * scale + lo
    assert torch.equal(got, expected)


def test_nan_propagates_like_eager():
    x = torch.tensor([0.0, float("nan"), 1.0])
    assert torch.isnan(native.quantize_nearest(x, 4)[0]).all()
    assert torch.isnan(native.quantize_stochastic(x, 4)).all()
    assert torch.isnan(kernels.quantize_stochastic(x, 4)).all()


def test_other_dtypes_run_eager():
    x = torch.randn(50, dtype=torch.float64)
    got, lo, hi = native.quantize_nearest(x, 3)
    assert got.dtype == torch.float64
    assert torch.equal(got, kernels.quantize_nearest(x, 3)[0])


def test_a_failed_build_falls_back_to_eager_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(native, "_state", {})

    def no_compiler():
        raise RuntimeError("Error building extension\nc++: command not found")

    monkeypatch.setattr(native, "_build", no_compiler)
    handle = quantize_(nn.Sequential(nn.Linear(3, 3)), QuantConfig(quantize_last_layer=True))
    x = torch.randn(100)
    with caplog.at_level(logging.WARNING, logger="cpt_search.quant.native"):
        first = native.quantize_nearest(x, 3)[0]
        native.quantize_stochastic(x, 3)
    assert torch.equal(first, kernels.quantize_nearest(x, 3)[0])
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "c++: command not found" in warnings[0] and "eager" in warnings[0]
    assert not native.available()
    assert handle.kernels == "eager"  # what trials report and MLflow tags: the fallback ran


def test_native_is_the_default_and_survives_pickling():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    twin = copy.deepcopy(net)
    handle = quantize_(net, QuantConfig(quantize_last_layer=True))
    quantize_(twin, QuantConfig(quantize_last_layer=True, backend="eager")).set_bits(3, 8)
    handle.set_bits(3, 8)
    assert net[0]._kernels is native and handle.kernels == "native"
    assert quantize_(nn.Sequential(nn.Linear(2, 2)), QuantConfig(backend="eager")).kernels == "eager"
    x = torch.randn(2, 3, 9, 9)
    assert torch.equal(net(x), twin(x))  # forward is round-to-nearest: identical to eager
    buffer = io.BytesIO()
    torch.save(net, buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    assert type(clone[0]) is QConv2d and clone[0]._kernels is native
