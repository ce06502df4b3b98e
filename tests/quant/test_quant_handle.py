"""quantize_ and the handle: which layers, bit validation, recording what the layers used."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cpt_search.errors import ConfigError
from cpt_search.quant import QuantConfig, quantize_
from cpt_search.quant.layers import QuantLayer


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3)
        self.body = nn.Sequential(nn.Conv2d(2, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 1))
        self.head = nn.Linear(2, 3)

    def forward(self, x):
        return self.head(self.body(self.stem(x)).mean((2, 3)))


def _quantized(net: nn.Module) -> list[str]:
    return [name for name, m in net.named_modules() if isinstance(m, QuantLayer)]


def test_defaults_quantize_first_but_not_last():
    net = _Net()
    handle = quantize_(net)
    assert handle.layer_names == ["stem", "body.0", "body.2"] == _quantized(net)
    assert handle.bits == (32, 32)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (QuantConfig(quantize_first_layer=False), ["body.0", "body.2"]),
        (QuantConfig(quantize_last_layer=True), ["stem", "body.0", "body.2", "head"]),
        (QuantConfig(exclude=("body.2",)), ["stem", "body.0"]),
        (QuantConfig(exclude=("body.*",), quantize_last_layer=True), ["stem", "head"]),
    ],
)
def test_first_last_exclude(config, expected):
    net = _Net()
    assert quantize_(net, config).layer_names == expected == _quantized(net)


def test_unknown_exclude_name_suggests_the_closest():
    with pytest.raises(ConfigError) as info:
        quantize_(_Net(), QuantConfig(exclude=("body.3",)))
    text = str(info.value)
    assert "exclude='body.3'" in text and "did you mean 'body.2'" in text and "stem" in text


def test_exclude_as_bare_string_is_rejected():
    with pytest.raises(ConfigError, match="tuple"):
        QuantConfig(exclude="stem")


def test_quantizing_twice_is_an_error_and_restore_allows_it():
    net = _Net()
    handle = quantize_(net)
    with pytest.raises(ConfigError, match="already quantized"):
        quantize_(net)
    handle.restore()
    assert _quantized(net) == []
    assert quantize_(net).layer_names == ["stem", "body.0", "body.2"]


def test_subclasses_of_supported_layers_are_left_alone():
    class MyLinear(nn.Linear):
        pass

    net = nn.Sequential(nn.Linear(2, 2), MyLinear(2, 2), nn.Linear(2, 2))
    assert quantize_(net, QuantConfig(quantize_last_layer=True)).layer_names == ["0", "2"]


@pytest.mark.parametrize("bad", [0, 33, -1, 4.5, "8", True, None])
def test_set_bits_rejects_bad_values(bad):
    handle = quantize_(_Net())
    with pytest.raises(ConfigError, match="1..32") as info:
        handle.set_bits(bad, 8)
    assert str(info.value).startswith(f"QuantHandle.set_bits: bits={bad!r}: ")
    with pytest.raises(ConfigError, match="grad_bits"):
        handle.set_bits(8, bad)


def test_set_bits_accepts_numpy_ints_and_reaches_every_layer():
    net = _Net()
    handle = quantize_(net)
    handle.set_bits(np.int64(5), np.int64(7))
    assert handle.bits == (5, 7) and isinstance(handle.bits[0], int)
    assert {(layer.bits, layer.grad_bits) for layer in handle.layers} == {(5, 7)}
    assert not hasattr(net.head, "bits")


def test_recorded_bits_follow_the_schedule_per_training_forward():
    torch.manual_seed(0)
    net = _Net()
    handle = quantize_(net)
    schedule = [(3, 8), (4, 8), (8, 6), (32, 32), (2, 2)]
    x = torch.randn(2, 1, 7, 7)
    handle.start_recording()
    for bits, grad_bits in schedule:
        handle.set_bits(bits, grad_bits)
        net(x).sum().backward()
    net.eval()
    net(x)  # evaluation forwards are not recorded
    net.train()
    handle.stop_recording()
    net(x)  # neither are forwards after stop
    assert handle.recorded_bits == schedule
    assert handle.recorded_layer_bits[0] == {"stem": (3, 8), "body.0": (3, 8), "body.2": (3, 8)}


def test_recording_reads_the_layers_not_the_handle():
    net = _Net()
    handle = quantize_(net, QuantConfig(quantize_grads=False))
    handle.start_recording()
    handle.set_bits(4, 6)
    net(torch.randn(1, 1, 7, 7))
    net.stem.bits = 5  # a layer set behind the handle's back shows up
    net(torch.randn(1, 1, 7, 7))
    assert handle.recorded_layer_bits[0]["stem"] == (4, 32)  # gradient quantization off: FP32 errors
    with pytest.raises(RuntimeError, match="different bits"):
        _ = handle.recorded_bits


def test_layer_called_several_times_per_forward_records_once():
    cell = nn.Linear(3, 3)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.out = cell, nn.Linear(3, 1)

        def forward(self, x):
            h = x
            for _ in range(4):
                h = torch.tanh(self.cell(h))
            return self.out(h)

    net = Recurrent()
    handle = quantize_(net)
    handle.set_bits(6, 8)
    handle.start_recording()
    net(torch.randn(2, 3)).sum().backward()
    assert handle.recorded_bits == [(6, 8)]
