"""Fashion-MNIST tasks: a small CNN (the CPU workhorse) and a 1-channel CIFAR-style ResNet-20."""

from __future__ import annotations

from torch import nn

from cpt_search.data import DataOptions, fashion_mnist
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.tasks.image import ImageBudget, ImageClassificationTask
from cpt_search.tasks.models.cnn import SmallCNN
from cpt_search.tasks.models.resnet_cifar import CifarResNet


class FashionMnistCNN(ImageClassificationTask):
    """``fashion-mnist/cnn``: 3 epochs at batch 128 reach about 0.90 test accuracy on one CPU thread."""

    name = "fashion-mnist/cnn"
    dataset = "fashion-mnist"
    budgets = {
        "tiny": ImageBudget(epochs=2, batch_size=64, lr=0.05, train_samples=1024, test_samples=512),
        "default": ImageBudget(epochs=3, batch_size=128, lr=0.05, warmup_frac=0.05),
        "paper": ImageBudget(epochs=30, batch_size=128, lr=0.05, warmup_frac=0.02, augment=False),
    }

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return fashion_mnist.load(options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return SmallCNN(in_channels, num_classes)


class FashionMnistResNet20(ImageClassificationTask):
    """``fashion-mnist/resnet20``: the CIFAR ResNet-20 on 28x28 grey images (about 10x the CNN's cost)."""

    name = "fashion-mnist/resnet20"
    dataset = "fashion-mnist"
    budgets = {
        "tiny": ImageBudget(epochs=1, batch_size=32, lr=0.05, train_samples=256, test_samples=256),
        "default": ImageBudget(epochs=1, batch_size=128, lr=0.1, warmup_frac=0.05),
        "paper": ImageBudget(epochs=40, batch_size=128, lr=0.1, weight_decay=1e-4,
                             lr_schedule="step", augment=True),
    }

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return fashion_mnist.load(options)

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return CifarResNet(depth=20, num_classes=num_classes, in_channels=in_channels)
