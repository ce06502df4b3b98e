"""The shared pieces of image classification tasks: in-memory tensors, SGD, batchwise augmentation.

The whole dataset lives on the device as one normalised tensor and batches are index gathers; a
per-sample ``DataLoader`` is several times slower on CPU (measured: docs/performance.md). Augmentation (CIFAR's random
crop with 4 pixels of padding and horizontal flip) is done for the whole batch in two gathers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.data import DataOptions
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.errors import ConfigError
from cpt_search.tasks.base import Evaluation, Prepared, Task
from cpt_search.tasks.budgets import ImageBudget


def lr_factor(step: int, total_steps: int, budget: ImageBudget) -> float:
    """Multiplier of ``budget.lr`` at ``step``: a pure function of the step (nanoGPT's get_lr)."""
    warmup_steps = int(budget.warmup_frac * total_steps)
    if step < warmup_steps:  # linear ramp from ~0, so early large updates do not blow up BN nets
        return (step + 1) / warmup_steps
    if budget.lr_schedule == "step":
        passed = sum(step >= frac * total_steps for frac in budget.milestones_frac)
        return 0.1 ** passed
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _to_tensor(images: np.ndarray, limit: int | None) -> torch.Tensor:
    images = images[:limit] if limit else images
    tensor = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    if tensor.ndim == 3:  # [N, H, W] grey -> [N, 1, H, W]
        return tensor.unsqueeze(1)
    return tensor.permute(0, 3, 1, 2).contiguous()  # [N, H, W, C] -> [N, C, H, W]


@dataclass
class ImageData:
    """Normalised images and labels of the three splits, on the trial's device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


class ImageClassificationTask(Task[ImageBudget]):
    """A classifier trained with SGD on in-memory images; subclasses load arrays and build models."""

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        """The dataset as uint8 arrays."""
        raise NotImplementedError

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        """The network for inputs with ``in_channels`` channels."""
        raise NotImplementedError

    def prepare(self, budget: ImageBudget, options: DataOptions, device: torch.device) -> Prepared:
        arrays = self.load_arrays(options)
        train_x = _to_tensor(arrays.train_images, budget.train_samples)
        val_x = _to_tensor(arrays.val_images, budget.test_samples)
        test_x = _to_tensor(arrays.test_images, budget.test_samples)
        # Normalise with the training split's per-channel statistics.
        mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
        std = train_x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        data = ImageData(
            train_x=((train_x - mean) / std).to(device),
            train_y=torch.from_numpy(arrays.train_labels[:len(train_x)]).to(device),
            val_x=((val_x - mean) / std).to(device),
            val_y=torch.from_numpy(arrays.val_labels[:len(val_x)]).to(device),
            test_x=((test_x - mean) / std).to(device),
            test_y=torch.from_numpy(arrays.test_labels[:len(test_x)]).to(device),
        )
        num_classes = int(max(arrays.train_labels.max(), arrays.test_labels.max())) + 1
        steps = len(data.train_y) // budget.batch_size
        if steps < 1:
            raise ConfigError("batch_size <= training samples must hold", where=f"task {self.name}",
                              key="batch_size", value=budget.batch_size,
                              fix=f"use a batch of at most {len(data.train_y)} samples")
        return Prepared(data=data, model=self.build_model(train_x.shape[1], num_classes).to(device),
                        example_inputs=(data.train_x[:1],), steps_per_epoch=steps,
                        samples_per_step=budget.batch_size)

    def make_optimizer(self, model: nn.Module, budget: ImageBudget, total_steps: int):
        optimizer = torch.optim.SGD(model.parameters(), lr=budget.lr, momentum=budget.momentum,
                                    nesterov=budget.nesterov, weight_decay=budget.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(min(step, total_steps - 1), total_steps, budget))
        return optimizer, scheduler

    def batches(self, prepared: Prepared, budget: ImageBudget,
                generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        data: ImageData = prepared.data
        device = data.train_x.device
        order = torch.randperm(len(data.train_y), generator=generator).to(device)
        for step in range(prepared.steps_per_epoch):
            index = order[step * budget.batch_size:(step + 1) * budget.batch_size]
            images = data.train_x[index]
            if budget.augment:
                images = random_crop_flip(images, generator)
            yield images, data.train_y[index]

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        images, labels = batch
        return F.cross_entropy(model(images), labels)

    def evaluate(self, model: nn.Module, prepared: Prepared, budget: ImageBudget) -> Evaluation:
        data: ImageData = prepared.data
        val = accuracy(model, data.val_x, data.val_y, budget.eval_batch_size)
        return Evaluation(metric=val, accuracy=val,
                          test_metric=accuracy(model, data.test_x, data.test_y, budget.eval_batch_size))


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    """Top-1 accuracy of ``model`` on ``images`` in batches of ``batch_size``."""
    correct = 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start:start + batch_size])
        correct += int((logits.argmax(dim=1) == labels[start:start + batch_size]).sum())
    return correct / len(labels)


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Per-sample random crop after zero padding, and random horizontal flip, for a whole batch."""
    batch, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (batch,), generator=generator).to(device)
    dx = torch.randint(0, 2 * pad + 1, (batch,), generator=generator).to(device)
    rows = (dy[:, None] + torch.arange(height, device=device))[:, :, None]  # [B, H, 1]
    cols = (dx[:, None] + torch.arange(width, device=device))[:, None, :]   # [B, 1, W]
    # Advanced indexing with the channel slice in the middle puts channels last: [B, H, W, C].
    cropped = padded[torch.arange(batch, device=device)[:, None, None], :, rows, cols]
    cropped = cropped.permute(0, 3, 1, 2)
    flip = (torch.rand(batch, generator=generator) < 0.5).to(device)[:, None, None, None]
    return torch.where(flip, cropped.flip(3), cropped).contiguous()
