"""The torch.compile backend: same quantization as the eager one, no recompiles when bits change."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cpt_search.errors import ConfigError
from cpt_search.quant import QuantConfig, quantize_
from cpt_search.quant.reference import fake_quant, fake_quant_per_channel


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="backend="):
        QuantConfig(backend="triton")


@pytest.mark.slow
def test_compiled_backend_matches_the_formula_without_recompiling():
    from torch._dynamo.utils import counters

    from cpt_search.quant import compiled

    torch.manual_seed(0)
    lin = nn.Linear(6, 40, bias=False)
    handle = quantize_(nn.Sequential(lin), QuantConfig(quantize_last_layer=True, backend="compile"))
    x = torch.randn(4, 6)
    compiled_frames = None
    for step, bits in enumerate([3, 5, 2, 8, 4]):
        handle.set_bits(bits, bits)
        lin.weight.grad = None
        lin.train()
        out = lin(x)
        expected = fake_quant(x, bits) @ fake_quant_per_channel(lin.weight, bits).t()
        assert torch.allclose(out, expected, atol=1e-5)
        # the identity input quantizes to itself, so grad_weight.T is the quantized error itself
        lin.weight.grad = None
        upstream = torch.randn(6, 40)
        lin(torch.eye(6)).backward(upstream)
        q = lin.weight.grad.t()
        lo, hi = upstream.min(), upstream.max()
        scale = (hi - lo) / (2**bits - 1)
        k = (q - lo) / scale
        assert torch.allclose(k, k.round(), atol=2e-3)
        exact = (upstream - lo) / scale
        assert torch.all((k.round() == exact.floor()) | (k.round() == exact.ceil()))
        lin(x)  # the running range now holds the eye's range; train once more on x
        lin.eval()
        lo_run = lin.act_running_min
        assert torch.allclose(lin(x), fake_quant(x, bits, lo_run, lo_run + lin.act_running_range)
                              @ fake_quant_per_channel(lin.weight, bits).t(), atol=1e-5)
        if step == 0:
            compiled_frames = counters["stats"]["unique_graphs"]
    assert counters["stats"]["unique_graphs"] == compiled_frames  # bits changed 4 times, no recompile
    assert set(compiled.compile_seconds) == {"nearest", "stochastic", "with_range"}


@pytest.mark.slow
def test_compiled_backend_one_graph_for_all_layouts():
    from torch._dynamo.utils import counters

    from cpt_search.quant import compiled

    for shape, bits in (((3, 5), 4), ((6,), 2)):  # Dynamo settles after one recompile to dynamic sizes
        compiled.quantize_stochastic(torch.randn(shape), bits)
        compiled.quantize_nearest(torch.randn(shape), bits)
    graphs = counters["stats"]["unique_graphs"]
    cl = torch.randn(2, 1, 4, 6).to(memory_format=torch.channels_last)
    for x in (torch.randn(7), torch.randn(2, 1, 4, 4), cl, torch.randn(4, 6).t()):
        x_hat, lo, hi = compiled.quantize_nearest(x, 3)
        assert x_hat.shape == x.shape
        ref = fake_quant(x, 3)
        assert torch.allclose(x_hat, ref, atol=1e-5) and (lo, hi) == (x.min().item(), x.max().item())
        g = compiled.quantize_stochastic(x, 1)
        assert torch.all(torch.isclose(g, x.min()) | torch.isclose(g, x.max()))
    assert counters["stats"]["unique_graphs"] == graphs
