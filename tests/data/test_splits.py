"""The validation splits: fixed (independent of the trial seed), disjoint from training and test."""

from __future__ import annotations

import numpy as np
import pytest

from cpt_search.data import DataOptions, digits, planetoid, shakespeare
from cpt_search.data.splits import hold_out


def test_hold_out_is_a_fixed_disjoint_cover_whatever_the_global_seed():
    np.random.seed(123)
    kept, held = hold_out(100, 20)
    np.random.seed(456)
    again_kept, again_held = hold_out(100, 20)
    np.testing.assert_array_equal(held, again_held)
    np.testing.assert_array_equal(kept, again_kept)
    assert len(held) == 20 and not set(kept) & set(held)
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(100))
    assert list(kept) == sorted(kept)  # original order kept: a train_samples limit takes a prefix
    assert not np.array_equal(held, hold_out(100, 20, seed=1)[1])
    with pytest.raises(ValueError):
        hold_out(10, 10)


def test_digits_split_is_fixed_and_disjoint():
    first, second = digits.load(), digits.load()
    sizes = [len(first.train_labels), len(first.val_labels), len(first.test_labels)]
    assert sizes == [1438, 180, 179]
    np.testing.assert_array_equal(first.val_images, second.val_images)
    rows = {split: {img.tobytes() for img in getattr(first, f"{split}_images")}
            for split in ("train", "val", "test")}
    assert not rows["val"] & rows["test"] and not rows["train"] & (rows["val"] | rows["test"])


def test_shakespeare_spans_are_contiguous_and_disjoint():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000)) + "XYZ"
    splits = shakespeare.split_text(text)
    decoded = ["".join(splits.vocab[c] for c in part) for part in (splits.train, splits.val, splits.test)]
    assert "".join(decoded) == text  # the three spans, in order, are the whole text
    assert [len(d) for d in decoded] == [902, 50, 51]
    assert splits.vocab_size == 29 and splits.vocab == "".join(sorted(set(text)))


def test_tiny_shakespeare_has_distinct_validation_and_test_spans(data_dir):
    splits = shakespeare.load_splits(DataOptions(data_dir=str(data_dir)))
    total = len(splits.train) + len(splits.val) + len(splits.test)
    assert total == 1_115_394 and len(splits.val) == len(splits.test) == 55_770
    assert splits.vocab_size == 65


def test_planetoid_validation_and_test_masks_are_disjoint(data_dir, tmp_path):
    options = DataOptions(data_dir=str(data_dir), cache_dir=str(tmp_path))
    for name in ("cora", "citeseer"):
        data, _, _ = planetoid.load(name, options)
        assert int(data.val_mask.sum()) == 500 and int(data.test_mask.sum()) == 1000
        assert not bool((data.val_mask & data.test_mask).any())
        assert not bool((data.train_mask & (data.val_mask | data.test_mask)).any())
