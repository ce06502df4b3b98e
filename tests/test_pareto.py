"""Pareto mask, non-dominated ranks, exact 2-D hypervolume, knee and reference point."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna._hypervolume import compute_hypervolume

from cpt_search.errors import ConfigError
from cpt_search.pareto import (front_points, hypervolume_2d, knee_index, pareto_mask, pareto_ranks,
                               reference_point)

MAX_MIN = ("maximize", "minimize")

# (metric, bitops): higher metric and fewer BitOPs are better.
HAND_MADE = np.array([
    [0.90, 10.0],   # 0 front: best metric
    [0.85, 4.0],    # 1 front
    [0.80, 6.0],    # 2 dominated by 1
    [0.60, 2.0],    # 3 front
    [0.60, 3.0],    # 4 dominated by 3 (same metric, more BitOPs)
    [0.50, 2.0],    # 5 dominated by 3 (same BitOPs, worse metric)
    [0.40, 1.0],    # 6 front: fewest BitOPs
    [0.85, 4.0],    # 7 duplicate of 1: duplicates share the front
])


def brute_dominates(a, b, directions):
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    a, b = a * sign, b * sign
    return bool(np.all(a <= b) and np.any(a < b))


def test_mask_on_a_hand_made_front():
    assert pareto_mask(HAND_MADE, MAX_MIN).tolist() == [True, True, False, True, False, False, True, True]


def test_ranks_on_a_hand_made_front():
    assert pareto_ranks(HAND_MADE, MAX_MIN).tolist() == [0, 0, 1, 0, 1, 1, 0, 0]


def test_directions_matter():
    both_min = pareto_mask(HAND_MADE, ("minimize", "minimize"))
    assert both_min.tolist() == [False, False, False, False, False, False, True, False]


def test_non_finite_rows_are_never_on_the_front_and_get_the_last_rank():
    values = np.array([[0.9, 5.0], [np.nan, 1.0], [0.8, np.inf], [0.5, 2.0]])
    assert pareto_mask(values, MAX_MIN).tolist() == [True, False, False, True]
    assert pareto_ranks(values, MAX_MIN).tolist() == [0, 1, 1, 0]


def test_empty_input():
    empty = np.empty((0, 2))
    assert pareto_mask(empty, MAX_MIN).shape == (0,)
    assert pareto_ranks(empty, MAX_MIN).shape == (0,)
    assert hypervolume_2d(empty, (0.0, 1.0), MAX_MIN) == 0.0


def test_bad_shapes_and_directions_are_config_errors():
    with pytest.raises(ConfigError, match=r"\(n, 2\) array"):
        pareto_mask(np.zeros((3, 3)), MAX_MIN)
    with pytest.raises(ConfigError, match="directions"):
        pareto_mask(np.zeros((3, 2)), ("maximize", "up"))


points = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=14)
directions = st.tuples(st.sampled_from(["maximize", "minimize"]), st.sampled_from(["maximize", "minimize"]))


@settings(max_examples=200, deadline=None)
@given(points, directions)
def test_mask_matches_brute_force(rows, dirs):
    values = np.array(rows, dtype=float)
    expected = [not any(brute_dominates(values[j], values[i], dirs) for j in range(len(values)))
                for i in range(len(values))]
    assert pareto_mask(values, dirs).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(points, directions)
def test_ranks_are_a_non_dominated_sorting(rows, dirs):
    values = np.array(rows, dtype=float)
    ranks = pareto_ranks(values, dirs)
    for i, j in itertools.product(range(len(values)), repeat=2):
        if brute_dominates(values[j], values[i], dirs):
            assert ranks[j] < ranks[i]
    for i in range(len(values)):
        if ranks[i] > 0:  # something one rank better dominates it
            assert any(brute_dominates(values[j], values[i], dirs)
                       for j in range(len(values)) if ranks[j] == ranks[i] - 1)


def test_hypervolume_of_a_hand_made_front():
    # Front (as loss = -metric, bitops) against reference metric 0, bitops 12:
    # sweep by metric: 0.90 x (12-10) + 0.85 x (10-4) + 0.60 x (4-2) + 0.40 x (2-1) = 8.5
    assert hypervolume_2d(HAND_MADE, (0.0, 12.0), MAX_MIN) == pytest.approx(8.5)


def test_points_not_beating_the_reference_add_nothing():
    values = np.array([[0.5, 5.0], [0.9, 20.0], [-0.1, 1.0]])
    assert hypervolume_2d(values, (0.0, 10.0), MAX_MIN) == pytest.approx(0.5 * 5.0)


@settings(max_examples=150, deadline=None)
@given(points, directions)
def test_hypervolume_matches_optuna(rows, dirs):
    values = np.array(rows, dtype=float)
    reference = np.array([7.5 if d == "minimize" else -0.5 for d in dirs])
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in dirs])
    expected = compute_hypervolume(values * sign, reference * sign)
    assert hypervolume_2d(values, reference, dirs) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(points)
def test_hypervolume_matches_a_unit_grid_count(rows):
    # Integer points, reference (7, 7), both minimised: count unit cells dominated by some point.
    values = np.array(rows, dtype=float)
    cells = sum(1 for x in range(7) for y in range(7)
                if any(px <= x and py <= y for px, py in rows))
    assert hypervolume_2d(values, (7.0, 7.0), ("minimize", "minimize")) == pytest.approx(cells)


def test_hypervolume_needs_a_finite_reference():
    with pytest.raises(ConfigError, match="finite"):
        hypervolume_2d(HAND_MADE, (0.0, np.inf), MAX_MIN)


def test_knee_of_a_hand_made_front():
    # Extremes (0.90, 10) and (0.40, 1); (0.85, 4) sits farthest towards the ideal corner.
    assert knee_index(HAND_MADE, MAX_MIN) == 1


def test_knee_ignores_dominated_points():
    values = np.array([[1.0, 10.0], [0.5, 1.0], [0.95, 3.0], [0.9, 9.0], [0.2, 5.0]])
    assert knee_index(values, MAX_MIN) == 2


def test_knee_ties_go_to_the_better_metric():
    # Collinear front: every point is at distance 0 from the extremes' line.
    values = np.array([[0.5, 1.0], [0.75, 2.0], [1.0, 3.0]])
    assert knee_index(values, MAX_MIN) == 2
    assert knee_index(values[:1], MAX_MIN) == 0
    assert knee_index(values[[0, 1]], MAX_MIN) == 1


def test_knee_of_a_concave_front_is_the_least_bad_point():
    values = np.array([[1.0, 10.0], [0.2, 9.0], [0.1, 1.0]])
    # (0.2, 9) lies on the far side of the line; an extreme (distance 0) is the least bad; ties -> metric.
    assert knee_index(values, MAX_MIN) == 0


def test_knee_without_finite_points_is_an_error():
    with pytest.raises(ConfigError, match="at least one finite point"):
        knee_index(np.array([[np.nan, 1.0]]), MAX_MIN)


def test_reference_point_uses_given_worst_values():
    assert reference_point(HAND_MADE, MAX_MIN, worst=(0.0, 100.0)) == (0.0, 100.0)


def test_reference_point_falls_back_to_the_nadir_plus_a_margin():
    # metric nadir 0.40, range 0.5 -> 0.35; bitops nadir 10, range 9 -> 10.9
    metric_ref, bitops_ref = reference_point(HAND_MADE, MAX_MIN)
    assert metric_ref == pytest.approx(0.35)
    assert bitops_ref == pytest.approx(10.9)
    assert reference_point(np.array([[0.5, 2.0]]), MAX_MIN) == pytest.approx((0.45, 2.2))
    with pytest.raises(ConfigError, match="reference point"):
        reference_point(np.empty((0, 2)), MAX_MIN)


def test_front_points_are_sorted_by_metric_with_labels():
    labels = [f"p{i}" for i in range(len(HAND_MADE))]
    front = front_points(HAND_MADE, MAX_MIN, labels)
    assert [p.index for p in front] == [0, 1, 7, 3, 6]
    assert front[0].values == (0.9, 10.0) and front[0].label == "p0" and front[0].on_front
