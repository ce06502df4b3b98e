"""scikit-learn's bundled 8x8 digits (1,797 images): no files to find, nothing to download."""

from __future__ import annotations

import numpy as np

from cpt_search.data.fashion_mnist import ImageArrays

TEST_FRAC = 0.2
SPLIT_SEED = 0  # the split is fixed; a trial's seed changes the initialisation and batch order only


def load() -> ImageArrays:
    """Images ``[N, 8, 8]`` scaled to uint8 0..255 (the originals are 0..16), split 80/20."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    n_test = int(round(TEST_FRAC * len(labels)))
    test, train = order[:n_test], order[n_test:]
    return ImageArrays(images[train], labels[train], images[test], labels[test])
