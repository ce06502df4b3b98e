"""The confirmed front: members, hypervolume and the plain rows shown by the CLI and exports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cpt_search.confirm import OFF, UNDECIDED, ConfirmSettings, RaceCandidate, race
from cpt_search.pareto import hypervolume_2d

CANDIDATES = [
    RaceCandidate("cheap", 0.10, {0: 0.700, 1: 0.705, 2: 0.698, 3: 0.702}),
    RaceCandidate("mid", 0.40, {0: 0.780, 1: 0.781, 2: 0.776, 3: 0.779}),
    RaceCandidate("mid-worse", 0.45, {0: 0.760, 1: 0.762, 2: 0.757, 3: 0.758}),   # off: mid beats it
    RaceCandidate("dear", 0.90, {0: 0.792, 1: 0.779}),                          # undecided vs mid
    RaceCandidate("lucky", 0.95, {0: 0.800}),                                     # one seed, best mean: stays on
]


def _state(**overrides):
    confirm = ConfirmSettings(seeds=(1, 2, 3), max_trainings=overrides.pop("max_trainings", 10),
                              noise_std=0.01, bootstrap_samples=400, **overrides)
    return race(CANDIDATES, confirm, higher_is_better=True)


def test_members_are_the_non_dominated_among_those_not_off():
    state = _state()
    assert state.record("mid-worse").status == OFF and "mid (cost 0.4" in state.record("mid-worse").why
    assert state.record("dear").status == UNDECIDED
    front = state.front()
    assert "mid-worse" not in front.ids
    assert front.ids[:2] == ("cheap", "mid")
    # Members are cheapest first and each is better than every cheaper member.
    rows = {row.id: row for row in front.rows}
    means = [rows[i].stats.adjusted_mean for i in front.ids]
    assert means == sorted(means) and [rows[i].cost for i in front.ids] == sorted(rows[i].cost for i in front.ids)


def test_hypervolume_is_the_members_area_under_the_given_reference():
    state = _state()
    front = state.front(reference=(0.0, 1.0))
    rows = {row.id: row for row in front.rows}
    points = np.array([[rows[i].stats.adjusted_mean, rows[i].cost] for i in front.ids])
    assert front.reference == (0.0, 1.0)
    assert front.hypervolume == pytest.approx(hypervolume_2d(points, (0.0, 1.0)))
    # Off candidates add nothing even when they would: the area of all not-off points is the same.
    everyone = np.array([[r.stats.adjusted_mean, r.cost] for r in front.rows if r.status != OFF])
    assert front.hypervolume == pytest.approx(hypervolume_2d(everyone, (0.0, 1.0)))
    assert state.front().hypervolume > 0  # default reference from the candidates


def test_rows_carry_the_statistics_and_are_json_safe():
    state = _state()
    rows = state.rows()
    assert [r.cost for r in rows] == sorted(r.cost for r in rows)
    by_id = {r.id: r for r in rows}
    mid = by_id["mid"]
    values = np.array(list(CANDIDATES[1].values.values()))
    assert mid.stats.n_seeds == 4 and mid.stats.mean == pytest.approx(values.mean())
    assert mid.stats.std == pytest.approx(values.std(ddof=1)) and mid.stats.ci_low < mid.stats.mean < mid.stats.ci_high
    assert by_id["lucky"].stats.std is None and by_id["lucky"].stats.ci_low is None
    assert by_id["cheap"].stats.p_front == 1.0 and by_id["mid-worse"].stats.p_front == 0.0
    assert by_id["lucky"].stats.p_front is None  # one seed: nothing to resample
    assert all(0.0 <= r.stats.p_front <= 1.0 for r in rows if r.stats.n_seeds >= 2)
    text = json.dumps([r.to_dict() for r in rows])
    assert json.loads(text)[0]["id"] == "cheap"
    assert set(rows[0].to_dict()) >= {"n_seeds", "mean", "std", "ci_low", "ci_high", "p_front", "status", "why"}
