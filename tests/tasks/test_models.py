"""The networks and the batchwise augmentation, checked against hand-computed shapes and MACs."""

from __future__ import annotations

import torch
from torch import nn

from cpt_search.quant import QuantConfig, count_macs, quantize_
from cpt_search.tasks.image import random_crop_flip
from cpt_search.tasks.models.char_lstm import CharLSTM
from cpt_search.tasks.models.cnn import SmallCNN
from cpt_search.tasks.models.resnet_cifar import CifarResNet


def test_resnet_depths_count_their_layers():
    for depth, in_channels in ((20, 1), (74, 3)):
        model = CifarResNet(depth=depth, num_classes=100, in_channels=in_channels)
        convs3 = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
        assert len(convs3) + 1 == depth  # depth counts the 3x3 convs and the classifier
        assert model(torch.zeros(2, in_channels, 32, 32)).shape == (2, 100)
    assert CifarResNet(depth=20, in_channels=1)(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_small_cnn_macs_per_image():
    model = SmallCNN()
    layers = {layer.name: layer.macs_per_sample for layer in count_macs(model, torch.zeros(4, 1, 28, 28))}
    assert layers == {
        "features.0": 28 * 28 * 32 * 1 * 9,
        "features.4": 14 * 14 * 64 * 32 * 9,
        "classifier.1": 64 * 7 * 7 * 128,
        "classifier.3": 128 * 10,
    }


def test_char_lstm_maps_are_quantized_linears_and_counted_per_time_step():
    vocab, embed, hidden, steps = 65, 16, 32, 10
    model = CharLSTM(vocab, embed, hidden)
    handle = quantize_(model, QuantConfig(quantize_first_layer=True, quantize_last_layer=True))
    assert handle.layer_names == ["input_map", "recurrent_map", "decoder"]
    tokens = torch.randint(0, vocab, (3, steps))
    assert model(tokens).shape == (3, steps, vocab)
    layers = {layer.name: layer for layer in count_macs(model, tokens, handle=handle)}
    assert layers["input_map"].macs_per_sample == steps * embed * 4 * hidden
    assert layers["recurrent_map"].macs_per_sample == steps * hidden * 4 * hidden
    assert layers["decoder"].macs_per_sample == steps * hidden * vocab
    assert all(layer.quantized for layer in layers.values())


def test_random_crop_flip_returns_shifted_or_flipped_windows_of_the_padded_batch():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    out = random_crop_flip(images, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for index in range(2):
        windows = [padded[index, :, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[index], w) or torch.equal(out[index], w.flip(2)) for w in windows)
    again = random_crop_flip(images, torch.Generator().manual_seed(0), pad=2)
    assert torch.equal(out, again)
