"""The CIFAR tasks' pipeline (3-channel tensors, augmentation, the ResNets) on synthetic CIFAR-shaped
arrays, since the real files need a download this machine cannot make."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cpt_search.data import DataOptions
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.quant import count_macs, quantize_
from cpt_search.tasks import TASKS


def synthetic_cifar(num_classes: int) -> ImageArrays:
    rng = np.random.default_rng(0)
    return ImageArrays(
        train_images=rng.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8),
        train_labels=rng.integers(0, num_classes, 300).astype(np.int64),
        val_images=rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
        val_labels=np.arange(40, dtype=np.int64) % num_classes,
        test_images=rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8),
        test_labels=np.arange(50, dtype=np.int64) % num_classes,
    )


@pytest.fixture
def one_thread():
    """One torch thread, as a Ray trial gets (two threads on a busy core are much slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name,num_classes", [("cifar10/resnet20", 10), ("cifar100/resnet74", 100)])
def test_cifar_task_steps_and_evaluates(name, num_classes, monkeypatch, one_thread):
    task = TASKS.get(name).load()
    monkeypatch.setattr(task, "load_arrays", lambda options: synthetic_cifar(num_classes))
    budget = task.budget("tiny", {"batch_size": 8})
    assert budget.augment
    torch.manual_seed(0)
    prepared = task.prepare(budget, DataOptions(), torch.device("cpu"))
    assert prepared.data.train_x.shape == (256, 3, 32, 32)  # tiny budget keeps the first 256
    assert prepared.steps_per_epoch == 256 // budget.batch_size
    handle = quantize_(prepared.model, task.quant_config())
    layers = count_macs(prepared.model, *prepared.example_inputs, handle=handle)
    assert layers[0].name == "conv1" and layers[0].quantized  # CIFAR nets quantize the first conv
    assert layers[-1].name == "fc" and not layers[-1].quantized
    optimizer, scheduler = task.make_optimizer(prepared.model, budget, prepared.steps_per_epoch)
    handle.set_bits(4, 8)
    prepared.model.train()
    for _, batch in zip(range(2), task.batches(prepared, budget, torch.Generator().manual_seed(0))):
        loss = task.loss(prepared.model, batch)
        assert math.isfinite(float(loss))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    prepared.model.eval()
    with torch.no_grad():
        evaluation = task.evaluate(prepared.model, prepared, budget)
    assert 0.0 <= evaluation.metric <= 1.0 and evaluation.accuracy == evaluation.metric
