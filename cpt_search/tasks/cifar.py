"""CIFAR tasks with the papers' ResNets: GPU-sized; CPU only with the tiny budget (budgets in
:mod:`cpt_search.tasks.builtin`: ``paper`` is CPT's CIFAR recipe)."""

from __future__ import annotations

from torch import nn

from cpt_search.data import DataOptions, cifar
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.tasks.image import ImageClassificationTask
from cpt_search.tasks.models.resnet_cifar import CifarResNet

class Cifar10ResNet20(ImageClassificationTask):
    """``cifar10/resnet20``."""


    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return cifar.load("cifar10", options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=20, num_classes=num_classes, in_channels=in_channels)


class Cifar100ResNet74(ImageClassificationTask):
    """``cifar100/resnet74``: CPT's headline CIFAR-100 model."""


    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return cifar.load("cifar100", options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=74, num_classes=num_classes, in_channels=in_channels)
