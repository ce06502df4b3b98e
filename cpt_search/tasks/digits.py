"""``digits/mlp``: scikit-learn's bundled 8x8 digits and an MLP; trains in well under a second."""

from __future__ import annotations

from torch import nn

from cpt_search.data import DataOptions, digits
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.tasks.image import ImageClassificationTask
from cpt_search.tasks.models.mlp import MLP


class DigitsMLP(ImageClassificationTask):
    """``digits/mlp``: the instant task for tests and smoke runs."""

    def load_arrays(self, options: DataOptions) -> ImageArrays:
        return digits.load()

    def build_model(self, in_channels: int, num_classes: int) -> nn.Module:
        return MLP(in_channels * 8 * 8, num_classes)
