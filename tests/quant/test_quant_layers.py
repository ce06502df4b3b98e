"""Quantized twins: what the forward computes, what the backward passes, and FP32 at 32 bits."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.quant import QuantConfig, quantize_
from cpt_search.quant.layers import QConv2d, QLinear
from cpt_search.quant.reference import fake_quant, fake_quant_per_channel

ALL = QuantConfig(quantize_first_layer=True, quantize_last_layer=True)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)
    )


def test_swap_is_in_place_and_keeps_parameters():
    net = _net()
    conv, weight = net[0], net[0].weight
    handle = quantize_(net, ALL)
    assert net[0] is conv and type(conv) is QConv2d and conv.weight is weight
    assert type(net[4]) is QLinear
    handle.restore()
    assert type(conv) is nn.Conv2d and conv.weight is weight
    assert "act_running_min" not in dict(conv.named_buffers())


@pytest.mark.parametrize("grad_bits", [32, 8])
def test_forward_uses_quantized_weight_and_input(grad_bits):
    net = _net()
    conv = copy.deepcopy(net[0])
    quantize_(net, ALL).set_bits(3, grad_bits)
    x = torch.randn(2, 3, 6, 6)
    expected = F.conv2d(fake_quant(x, 3), fake_quant_per_channel(conv.weight, 3), conv.bias, padding=1)
    assert torch.allclose(net[0](x), expected, atol=1e-5)


def test_straight_through_gradients_for_weight_and_input():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    ref = copy.deepcopy(lin)
    quantize_(nn.Sequential(lin), ALL).set_bits(2, 32)  # errors FP32: isolate the STE
    x = torch.randn(5, 6, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    upstream = torch.randn(5, 3)
    lin(x).backward(upstream)
    # straight through: the gradient is the FP32 formula evaluated at the quantized tensors
    x_hat, w_hat = fake_quant(x_ref, 2), fake_quant_per_channel(ref.weight, 2)
    assert torch.allclose(x.grad, upstream @ w_hat, atol=1e-5)
    assert torch.allclose(lin.weight.grad, upstream.t() @ x_hat, atol=1e-5)
    assert torch.allclose(lin.bias.grad, upstream.sum(0))


@pytest.mark.parametrize("grad_bits", [2, 4])
def test_error_is_quantized_to_levels_of_its_own_range(grad_bits):
    torch.manual_seed(0)
    lin = nn.Linear(4, 50, bias=False)
    quantize_(nn.Sequential(lin), ALL).set_bits(32, grad_bits)  # forward FP32: isolate the errors
    x = torch.eye(4)  # grad_weight = upstream_quantized.T @ I reads the quantized error back exactly
    upstream = torch.randn(4, 50) * 3
    lin(x).backward(upstream)
    quantized = lin.weight.grad.t()
    lo, hi = upstream.min(), upstream.max()
    scale = (hi - lo) / (2**grad_bits - 1)
    k = (quantized - lo) / scale
    assert torch.allclose(k, k.round(), atol=1e-3)
    # stochastic: only the two levels around each value
    assert torch.all((k.round() == ((upstream - lo) / scale).floor()) | (k.round() == ((upstream - lo) / scale).ceil()))
    assert len(torch.unique(k.round())) > 1


def test_error_quantizer_leaves_a_shared_gradient_alone():
    # a residual add hands both branches the same gradient tensor; quantizing it in place would
    # corrupt the identity branch
    lin = nn.Linear(8, 8)
    nn.init.zeros_(lin.weight)  # the linear branch contributes nothing to x.grad
    quantize_(nn.Sequential(lin), ALL).set_bits(32, 2)
    x = torch.randn(16, 8, requires_grad=True)
    upstream = torch.randn(16, 8)
    (lin(x) + x).backward(upstream)
    assert torch.equal(x.grad, upstream)
    assert lin.bias.grad is not None and not torch.allclose(lin.bias.grad, upstream.sum(0))  # it was quantized


def test_32_bits_is_bit_exact_fp32():
    torch.manual_seed(0)
    net = _net()
    ref = copy.deepcopy(net)
    handle = quantize_(net, ALL)
    handle.set_bits(4, 4)
    net(torch.randn(2, 3, 6, 6)).sum().backward()  # run once quantized, then back to 32
    net.zero_grad()
    ref.load_state_dict(net.state_dict(), strict=False)
    handle.set_bits(32, 32)
    x = torch.randn(3, 3, 6, 6)
    out, out_ref = net(x), ref(x)
    assert torch.equal(out, out_ref)
    out.square().sum().backward()
    out_ref.square().sum().backward()
    for (name, p), p_ref in zip(net.named_parameters(), ref.parameters()):
        assert torch.equal(p.grad, p_ref.grad), name


def _op_names(net: nn.Module) -> list[str]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        net(torch.randn(2, 3, 6, 6)).sum().backward()
    return sorted(e.name for e in prof.events() if e.name.startswith("aten::"))


def test_32_bits_runs_exactly_the_fp32_ops():
    net = _net()
    ref = copy.deepcopy(net)
    quantize_(net, ALL).set_bits(32, 32)
    assert _op_names(net) == _op_names(ref)
    net[0].bits = 4  # the comparison can fail: one quantized layer adds ops
    assert _op_names(net) != _op_names(ref)


def test_eval_uses_running_range():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    quantize_(nn.Sequential(lin), ALL).set_bits(2, 32)
    batches = [torch.tensor([[0.0, 1.0, 2.0]]), torch.tensor([[-2.0, 0.0, 6.0]])]
    for batch in batches:
        lin(batch)
    # first batch initialises, then EMA with momentum 0.9
    assert lin.act_running_min.item() == pytest.approx(0.9 * 0.0 + 0.1 * -2.0)
    assert lin.act_running_range.item() == pytest.approx(0.9 * 2.0 + 0.1 * 8.0)
    lin.eval()
    lo, span = -0.2, 2.6
    x = torch.tensor([[-1.0, 0.5, 5.0]])
    expected_x = fake_quant(x, 2, lo, lo + span)  # clamps -1 -> -0.2 and 5 -> 2.4
    expected = F.linear(expected_x, fake_quant_per_channel(lin.weight, 2), lin.bias)
    assert torch.allclose(lin(x), expected, atol=1e-5)
    assert not torch.allclose(lin(x), F.linear(fake_quant(x, 2), fake_quant_per_channel(lin.weight, 2), lin.bias))
    # evaluation does not move the running range
    assert lin.act_running_min.item() == pytest.approx(-0.2)


def test_cached_constant_input_is_refreshed_when_bits_or_data_change():
    lin = nn.Linear(4, 2)
    quantize_(nn.Sequential(lin), ALL).set_bits(2, 32)
    x = torch.randn(8, 4)
    first = lin(x)
    assert torch.equal(lin(x), first)
    lin.bits = 3
    three = lin(x)
    assert not torch.equal(three, first)
    x.mul_(2)  # in place: the version counter changes, so the cache must not be used
    expected = F.linear(fake_quant(x, 3), fake_quant_per_channel(lin.weight, 3), lin.bias)
    assert torch.allclose(lin(x), expected, atol=1e-5)


def test_gcn_twin_quantizes_features_weight_bias_and_error():
    from torch_geometric.nn import GCNConv

    from cpt_search.quant.gcn import QGCNConv

    torch.manual_seed(0)
    conv = GCNConv(5, 3)
    with torch.no_grad():
        conv.bias.copy_(torch.randn(3))
    ref = copy.deepcopy(conv)
    model = nn.ModuleDict({"conv": conv})
    handle = quantize_(model, ALL)
    assert type(conv) is QGCNConv and handle.layer_names == ["conv"]
    x = torch.randn(6, 5)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    handle.set_bits(32, 32)
    assert torch.equal(conv(x, edge_index), ref(x, edge_index))
    handle.set_bits(3, 8)
    with torch.no_grad():
        ref.lin.weight.copy_(fake_quant_per_channel(ref.lin.weight, 3))
        ref.bias.copy_(fake_quant(ref.bias, 3))
    assert torch.allclose(conv(x, edge_index), ref(fake_quant(x, 3), edge_index), atol=1e-5)


def test_quantized_model_pickles_with_its_state():
    import io

    net = _net()
    handle = quantize_(net, ALL)
    handle.set_bits(3, 8)
    x = torch.randn(2, 3, 6, 6)
    net(x)
    net(x)  # the second call would hit the input cache
    buffer = io.BytesIO()
    torch.save(net, buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    assert type(clone[0]) is QConv2d and clone[0].bits == 3
    net.eval()
    clone.eval()
    assert torch.equal(clone(x), net(x))
