"""Fixed validation hold-outs: the split a search selects on, apart from the test split it reports.

Selecting schedules on the test split and reporting the same split gives an optimistic front, so
every dataset without an official validation split gets a fixed one here. The split is drawn from
its own seed, independent of a trial's seed: every trial of a search, and every seed of a schedule,
is scored on the same samples (a trial's seed changes the initialisation and batch order only).
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0


def hold_out(count: int, size: int, *, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` sorted indices: ``size`` of ``range(count)`` drawn by ``seed``, the rest.

    The held-out indices are a uniform random subset (the image datasets here are class-balanced
    and shuffled, so a plain random draw is within sampling noise of a stratified one); sorting
    keeps the kept samples in their original order, so limits like ``train_samples`` take a prefix.
    """
    if not 0 < size < count:
        raise ValueError(f"hold-out of {size} from {count} samples")
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[size:]), np.sort(order[:size])
