"""scikit-learn's bundled 8x8 digits (1,797 images): no files to find, nothing to download."""

from __future__ import annotations

import numpy as np

from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.data.memo import remembered
from cpt_search.data.splits import SPLIT_SEED

HELD_OUT_FRAC = 0.2  # held out of training, then halved into validation and test


def load() -> ImageArrays:
    """Images ``[N, 8, 8]`` scaled to uint8 0..255 (the originals are 0..16), in a fixed split:
    1,438 train, 180 validation, 179 test.

    The 20 % held out is the same as before the validation split existed (the training set, and so
    every step count, is unchanged); its first half selects, its second half reports.
    """
    return remembered(("digits",), _read)


def _read() -> ImageArrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    held = int(round(HELD_OUT_FRAC * len(labels)))
    n_val = (held + 1) // 2
    val, test, train = order[:n_val], order[n_val:held], order[held:]
    return ImageArrays(images[train], labels[train], images[val], labels[val], images[test],
                       labels[test])
