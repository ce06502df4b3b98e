"""Picking a schedule from a search's results for export (pure)."""

from __future__ import annotations

import math

import pytest

from cpt_search.errors import ConfigError
from cpt_search.select import Candidate, front_of, pick


def cand(trial: int, metric: float, bitops: float, relative_cost: float | None = None) -> Candidate:
    return Candidate(trial=trial, label=f"t{trial}", metric=metric, bitops=bitops,
                     relative_cost=bitops / 100 if relative_cost is None else relative_cost)


# Accuracy vs BitOPs: 0..3 form the front (a convex staircase with a clear knee at trial 1);
# 4 is dominated by 1, 5 by 2.
POINTS = [cand(0, 0.60, 10), cand(1, 0.88, 20), cand(2, 0.90, 60), cand(3, 0.91, 100),
          cand(4, 0.85, 30), cand(5, 0.89, 70)]


def test_front_of_drops_dominated_points_and_sorts_by_bitops() -> None:
    assert [c.trial for c in front_of(POINTS, higher_is_better=True)] == [0, 1, 2, 3]


@pytest.mark.parametrize("how, expected", [("max-metric", 3), ("min-bitops", 0), ("knee", 1)])
def test_picks(how: str, expected: int) -> None:
    assert pick(POINTS, how, higher_is_better=True).trial == expected


def test_filters_apply_before_the_front() -> None:
    # Only trials costing <= 0.65 remain: 0, 1, 2, 4, 5; the best metric among them is trial 2.
    assert pick(POINTS, "max-metric", higher_is_better=True, max_relative_cost=0.65).trial == 2
    # At least 0.895 accuracy: trials 2 and 3; the cheapest is 2.
    assert pick(POINTS, "min-bitops", higher_is_better=True, min_metric=0.895).trial == 2


def test_lower_is_better_metric_flips_the_metric_direction() -> None:
    bpc = [cand(0, 2.5, 10), cand(1, 1.9, 20), cand(2, 1.8, 60), cand(3, 2.6, 30)]
    assert [c.trial for c in front_of(bpc, higher_is_better=False)] == [0, 1, 2]
    assert pick(bpc, "max-metric", higher_is_better=False).trial == 2  # best = lowest bpc
    # --min-metric means "at least this good": bpc <= 2.0 keeps 1 and 2.
    assert pick(bpc, "min-bitops", higher_is_better=False, min_metric=2.0).trial == 1


def test_ties_prefer_fewer_bitops_then_lower_trial_number() -> None:
    tied = [cand(3, 0.9, 50), cand(1, 0.9, 40), cand(2, 0.9, 40)]
    assert pick(tied, "max-metric", higher_is_better=True).trial == 1


def test_no_candidate_passes_the_filters_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as caught:
        pick(POINTS, "knee", higher_is_better=True, max_relative_cost=0.05, where="export s")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("export s: {'max_relative_cost': 0.05}: no finished trial satisfies the filters")
    assert "cheapest trial has relative cost 0.1" in text and "best metric is 0.91" in text


def test_unknown_pick_and_non_finite_filter_are_errors() -> None:
    with pytest.raises(ConfigError, match="pick must be one of knee, max-metric, min-bitops"):
        pick(POINTS, "best", higher_is_better=True)
    with pytest.raises(ConfigError, match="--min-metric=nan: a filter must be a finite number"):
        pick(POINTS, "knee", higher_is_better=True, min_metric=math.nan)


def test_nothing_to_pick_from() -> None:
    with pytest.raises(ConfigError, match="the search has no finished trial to pick from"):
        pick([], "knee", higher_is_better=True)
    with pytest.raises(ConfigError, match="no finished trial"):
        pick([cand(0, math.nan, 10)], "knee", higher_is_better=True)
