"""The range test's bit picker on synthetic loss curves, and the search space it writes."""

import math

import numpy as np
import pytest

from cpt_search.analysis.range_test import score_stages, space_from_range_test
from cpt_search.errors import ConfigError
from cpt_search.space import parse_space

N = 60


def _stage(start, end, noise, rng):
    """A loss falling linearly from ``start`` to ``end`` over a stage, with Gaussian noise."""
    return np.linspace(start, end, N) + rng.normal(0.0, noise, N)


def test_picks_first_precision_that_clearly_trains():
    rng = np.random.default_rng(0)
    stages = [
        _stage(2.30, 2.30, 0.05, rng),   # 2 bits: noise around the initial loss
        _stage(2.30, 2.25, 0.05, rng),   # 3 bits: drifts, but within noise of nothing
        _stage(2.25, 1.20, 0.05, rng),   # 4 bits: trains
        _stage(1.20, 1.00, 0.05, rng),   # 5 bits: keeps training, more slowly
        _stage(1.00, 0.95, 0.05, rng),
    ]
    score = score_stages([2, 3, 4, 5, 6], stages)
    assert [s.works for s in score.stages] == [False, False, True, False, False]
    assert score.suggested_min_bits == 4
    s4 = score.stages[2]
    q = round(0.25 * N)
    previous_end, end = stages[1][-q:], stages[2][-q:]  # stage ends are compared
    assert s4.head_mean == pytest.approx(previous_end.mean())
    assert s4.improvement == pytest.approx(previous_end.mean() - end.mean())
    noise = math.sqrt(previous_end.var(ddof=1) / q + end.var(ddof=1) / q)
    assert s4.noise == pytest.approx(noise)
    first = score.stages[0]  # the first stage compares its own start and end
    assert first.head_mean == pytest.approx(stages[0][:q].mean())


def test_switching_shock_is_not_progress():
    rng = np.random.default_rng(4)
    flat = _stage(2.3, 2.3, 0.02, rng)
    shocked = _stage(2.3, 2.3, 0.02, rng)
    shocked[:10] += 2.0  # the loss jumps when the precision changes, then settles where it was
    stages = [flat, shocked, _stage(2.3, 1.0, 0.02, rng)]
    score = score_stages([2, 3, 4], stages)
    assert abs(score.stages[1].improvement) < 0.05 and not score.stages[1].works
    assert score.suggested_min_bits == 4


def test_progress_below_fraction_of_best_does_not_count():
    rng = np.random.default_rng(1)
    stages = [_stage(2.3, 2.0, 0.01, rng),   # clearly above noise but only 0.3 of 1.0
              _stage(2.0, 1.0, 0.01, rng)]
    assert score_stages([2, 3], stages).suggested_min_bits == 3
    assert score_stages([2, 3], stages, min_frac=0.25).suggested_min_bits == 2


def test_noise_only_suggests_nothing_and_divergence_never_works():
    rng = np.random.default_rng(2)
    flat = [_stage(2.3, 2.3, 0.05, rng) for _ in range(3)]
    assert score_stages([2, 3, 4], flat).suggested_min_bits is None
    diverged = _stage(2.3, 1.0, 0.01, rng)
    diverged[30:] = np.nan
    score = score_stages([2, 3], [diverged, _stage(1.0, 0.5, 0.01, rng)])
    assert not score.stages[0].works and score.suggested_min_bits == 3
    assert score.stages[0].to_dict()["improvement"] is None


def test_higher_is_better_metric():
    rng = np.random.default_rng(3)
    accuracy = [_stage(0.10, 0.11, 0.01, rng), _stage(0.11, 0.60, 0.01, rng)]
    assert score_stages([3, 4], accuracy, higher_is_better=True).suggested_min_bits == 4


def test_bad_inputs():
    with pytest.raises(ConfigError, match="one list of values per precision"):
        score_stages([2, 3], [[1.0] * 8])
    with pytest.raises(ConfigError, match="at least 4 steps"):
        score_stages([2], [[1.0, 0.9]])


def test_space_from_range_test_is_a_valid_space():
    document = space_from_range_test("cora/gcn", "default", 3, 8, 8)
    space = parse_space(document)
    assert space.schedule["min_bits"].bounds() == (3, 5)
    assert space.schedule["max_bits"].bounds() == (8, 8)
    assert space.baseline["min_bits"] == 3 and space.include_baselines
    assert space_from_range_test("cora/gcn", "default", 7, 8, 8)["schedule"]["min_bits"] == \
        {"low": 7, "high": 7}
    with pytest.raises(ConfigError, match="min_bits must be below max_bits"):
        space_from_range_test("cora/gcn", "default", 8, 8, 8)
