"""Per-seed statistics of the confirmation race against scipy, brute force and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from cpt_search.confirm.stats import (
    SeedTable,
    dominated_rows,
    front_probability,
    noise_scale,
    paired_comparisons,
    seed_effects,
    summarize,
)
from cpt_search.pareto import pareto_mask

values_st = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, width=64)


@given(st.lists(values_st, min_size=2, max_size=8))
@settings(max_examples=60, deadline=None)
def test_summary_matches_scipy_student_t_interval(values):
    summary = summarize(dict(enumerate(values)))
    array = np.asarray(values)
    assert summary.n_seeds == len(values)
    assert summary.mean == pytest.approx(array.mean(), abs=1e-12)
    assert summary.std == pytest.approx(array.std(ddof=1), abs=1e-12)
    if array.std() > 0:
        low, high = sps.t.interval(0.95, len(values) - 1, loc=array.mean(), scale=sps.sem(array))
        assert (summary.ci_low, summary.ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    else:
        assert summary.ci_low == pytest.approx(summary.mean) and summary.ci_high == pytest.approx(summary.mean)


def test_summary_of_one_seed_has_no_spread():
    summary = summarize({0: 0.79})
    assert (summary.n_seeds, summary.mean, summary.std, summary.ci_low, summary.ci_high) == (1, 0.79, None, None, None)


def _table(rows):
    return SeedTable.of([{s: v for s, v in row.items()} for row in rows])


def test_seed_effects_on_a_complete_table_are_the_plain_means():
    rng = np.random.default_rng(0)
    values = rng.normal(0.8, 0.01, (5, 4))
    table = _table([dict(enumerate(row)) for row in values])
    effects = seed_effects(table)
    np.testing.assert_allclose(effects.adjusted_means, values.mean(axis=1), atol=1e-12)
    assert effects.effects.sum() == pytest.approx(0.0, abs=1e-12)
    # Two-way ANOVA without replication: residual dof = (rows - 1) * (columns - 1).
    centred = values - values.mean(axis=1, keepdims=True) - values.mean(axis=0, keepdims=True) + values.mean()
    assert effects.residual_std == pytest.approx(np.sqrt((centred ** 2).sum() / (4 * 3)))


@given(st.integers(0, 2 ** 32 - 1))
@settings(max_examples=40, deadline=None)
def test_seed_effects_recover_an_additive_table_with_missing_cells(seed):
    rng = np.random.default_rng(seed)
    n_cands, n_seeds = rng.integers(2, 8), rng.integers(2, 6)
    candidate = rng.normal(0.8, 0.05, n_cands)
    effect = rng.normal(0.0, 0.02, n_seeds)
    effect -= effect.mean()
    mask = rng.random((n_cands, n_seeds)) < 0.6
    mask[:, 0] = True  # the search's seed: every candidate has it, so the table is connected
    mask[0, :] = True  # and one candidate saw every seed, so every seed effect is identified
    rows = [{s: candidate[i] + effect[s] for s in range(n_seeds) if mask[i, s]} for i in range(n_cands)]
    fitted = seed_effects(_table(rows))
    np.testing.assert_allclose(fitted.adjusted_means, candidate, atol=1e-9)
    np.testing.assert_allclose(fitted.effects, effect, atol=1e-9)


def test_seed_effects_fall_back_to_plain_means_when_disconnected():
    effects = seed_effects(_table([{0: 0.5, 1: 0.7}, {2: 0.9}]))
    np.testing.assert_allclose(effects.adjusted_means, [0.6, 0.9])
    assert (effects.effects == 0).all() and effects.residual_std is None


def test_noise_scale_is_unknown_on_one_seed_and_given_noise_wins():
    table = _table([{0: 0.5}, {0: 0.6}, {0: 0.7}])
    effects = seed_effects(table)
    n = table.mask.sum(axis=1)
    assert np.isinf(noise_scale(effects, n, 3, None)).all()
    np.testing.assert_allclose(noise_scale(effects, n, 3, 0.01), 0.01)


@given(st.integers(0, 2 ** 32 - 1), st.booleans())
@settings(max_examples=50, deadline=None)
def test_paired_tests_match_scipy_ttest_rel_one_sided(seed, higher_is_better):
    rng = np.random.default_rng(seed)
    n_cands, n_seeds = 4, int(rng.integers(2, 7))
    mask = rng.random((n_cands, n_seeds)) < 0.8
    rows = [{s: float(rng.normal(0.8, 0.02)) for s in range(n_seeds) if mask[i, s]} for i in range(n_cands)]
    rows = [row or {0: 0.8} for row in rows]
    table = _table(rows)
    comp = paired_comparisons(table, higher_is_better)
    alternative = "greater" if higher_is_better else "less"
    for i in range(n_cands):
        for j in range(n_cands):
            common = sorted(set(rows[i]) & set(rows[j]))
            assert comp.n_common[i, j] == len(common)
            if i == j or len(common) < 2:
                continue
            a, b = [rows[i][s] for s in common], [rows[j][s] for s in common]
            expected = sps.ttest_rel(a, b, alternative=alternative).pvalue
            assert comp.p_better[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert comp.p_better[i, j] + comp.p_better[j, i] == pytest.approx(1.0)
            gain = np.mean(np.subtract(a, b)) * (1 if higher_is_better else -1)
            assert comp.gain[i, j] == pytest.approx(gain)


def test_paired_tests_without_spread_decide_by_the_sign_alone():
    table = _table([{0: 0.80, 1: 0.70, 2: 0.90}, {0: 0.78, 1: 0.68, 2: 0.88}, {0: 0.80, 1: 0.70, 2: 0.90}])
    comp = paired_comparisons(table, higher_is_better=True)
    assert comp.p_better[0, 1] == 0.0 and comp.p_better[1, 0] == 1.0
    assert comp.p_better[0, 2] == 1.0 and comp.p_better[2, 0] == 1.0  # identical: no evidence either way
    assert np.isnan(comp.p_better[0, 0]) or comp.p_better[0, 0] == 1.0


@given(st.integers(0, 2 ** 32 - 1))
@settings(max_examples=40, deadline=None)
def test_batched_dominance_agrees_with_pareto_mask(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    costs = rng.integers(0, 4, n).astype(float)      # ties in cost on purpose
    metric = rng.integers(0, 4, (3, n)).astype(float)  # and in the metric
    for direction, sign in (("maximize", -1.0), ("minimize", 1.0)):
        got = dominated_rows(sign * metric, costs)
        for row in range(3):
            expected = ~pareto_mask(np.column_stack([metric[row], costs]), (direction, "minimize"))
            assert got[row].tolist() == expected.tolist()


def _p_front(rows, costs, higher_is_better=True, samples=500, seed=0):
    table = _table(rows)
    return front_probability(table, seed_effects(table), costs, higher_is_better, samples, seed)


def test_front_probability_is_one_for_a_dominator_and_zero_for_the_dominated():
    rng = np.random.default_rng(1)
    common = rng.normal(0.0, 0.05, 5)  # large noise shared by everyone on a seed
    rows = [{s: 0.85 + common[s] + rng.normal(0, 0.002) for s in range(5)},   # cheapest and best on every seed
            {s: 0.80 + common[s] + rng.normal(0, 0.002) for s in range(5)},
            {s: 0.75 + common[s] + rng.normal(0, 0.002) for s in range(5)}]  # dearest and worst
    p = _p_front(rows, [1.0, 2.0, 3.0])
    assert p[0] == 1.0 and p[2] == 0.0
    # Minimised metric: the same numbers negated tell the same story.
    p_min = _p_front([{s: -v for s, v in row.items()} for row in rows], [1.0, 2.0, 3.0], higher_is_better=False)
    np.testing.assert_array_equal(p, p_min)


def test_front_probability_is_paired_so_common_noise_cancels():
    # B is 0.5 points worse than A on every seed, A costs less, the seed-to-seed spread is 5 points.
    # Resampling the seeds independently per candidate would often put B above A; the paired bootstrap
    # never does.
    rng = np.random.default_rng(2)
    common = rng.normal(0.0, 0.05, 6)
    rows = [{s: 0.80 + common[s] for s in range(6)}, {s: 0.795 + common[s] for s in range(6)}]
    assert _p_front(rows, [1.0, 2.0]).tolist() == [1.0, 0.0]


def test_front_probability_is_deterministic_given_its_seed_and_in_between_for_a_close_pair():
    rng = np.random.default_rng(3)
    rows = [{s: float(rng.normal(0.80, 0.01)) for s in range(5)}, {s: float(rng.normal(0.802, 0.01)) for s in range(5)}]
    first, again, other = _p_front(rows, [1.0, 2.0], seed=7), _p_front(rows, [1.0, 2.0], seed=7), \
        _p_front(rows, [1.0, 2.0], seed=8)
    np.testing.assert_array_equal(first, again)
    assert first[0] == 1.0  # the cheapest is never dominated
    assert 0.05 < first[1] < 0.95 and first[1] != other[1]
