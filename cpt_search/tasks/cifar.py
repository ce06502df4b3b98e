"""CIFAR tasks with the papers' ResNets: GPU-sized; CPU only with the tiny budget.

``paper`` follows CPT's CIFAR recipe (from SkipNet): SGD with momentum 0.9, weight decay 1e-4,
batch 128, learning rate 0.1 divided by 10 at 50 % and 75 % of 64,000 steps (164 epochs).
"""

from __future__ import annotations

from torch import nn

from cpt_search.data import DataOptions, cifar
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.tasks.image import ImageBudget, ImageClassificationTask
from cpt_search.tasks.models.resnet_cifar import CifarResNet

_PAPER = ImageBudget(epochs=164, batch_size=128, lr=0.1, weight_decay=1e-4, nesterov=False,
                     lr_schedule="step", augment=True)
_DEFAULT = ImageBudget(epochs=30, batch_size=128, lr=0.1, weight_decay=5e-4, warmup_frac=0.02,
                       augment=True)
_TINY = ImageBudget(epochs=1, batch_size=32, lr=0.05, augment=True, train_samples=256,
                    test_samples=256)


class Cifar10ResNet20(ImageClassificationTask):
    """``cifar10/resnet20``."""

    name = "cifar10/resnet20"
    dataset = "cifar10"
    budgets = {"tiny": _TINY, "default": _DEFAULT, "paper": _PAPER}

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return cifar.load("cifar10", options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=20, num_classes=num_classes, in_channels=in_channels)


class Cifar100ResNet74(ImageClassificationTask):
    """``cifar100/resnet74``: CPT's headline CIFAR-100 model."""

    name = "cifar100/resnet74"
    dataset = "cifar100"
    budgets = {"tiny": _TINY, "default": _DEFAULT, "paper": _PAPER}

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return cifar.load("cifar100", options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=74, num_classes=num_classes, in_channels=in_channels)
