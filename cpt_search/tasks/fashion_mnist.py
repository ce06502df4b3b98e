"""Fashion-MNIST tasks: a small CNN (the CPU workhorse) and a 1-channel CIFAR-style ResNet-20."""

from __future__ import annotations

from torch import nn

from cpt_search.data import DataOptions, fashion_mnist
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.tasks.image import ImageClassificationTask
from cpt_search.tasks.models.cnn import SmallCNN
from cpt_search.tasks.models.resnet_cifar import CifarResNet


class FashionMnistCNN(ImageClassificationTask):
    """``fashion-mnist/cnn``: 3 epochs at batch 128 reach about 0.90 test accuracy on one CPU thread."""

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return fashion_mnist.load(options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return SmallCNN(in_channels, num_classes)


class FashionMnistResNet20(ImageClassificationTask):
    """``fashion-mnist/resnet20``: the CIFAR ResNet-20 on 28x28 grey images (about 10x the CNN's cost)."""

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return fashion_mnist.load(options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=20, num_classes=num_classes, in_channels=in_channels)
