"""Seed statistics, Welch's test and Spearman's rho on inputs with known answers."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cpt_search.analysis.stats import SeedStats, difference, spearman


def _ranks(values):
    """Average ranks (1-based), written out independently of scipy."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def test_seed_stats_sample_std():
    s = SeedStats.of([0.80, 0.82, 0.84])
    assert s.mean == pytest.approx(0.82) and s.std == pytest.approx(0.02) and s.n == 3
    assert SeedStats.of([0.5]) == SeedStats(0.5, None, 1)
    assert SeedStats.of([]) == SeedStats(None, None, 0)
    assert SeedStats.of([1.0, float("nan"), 3.0]).n == 2


def test_spearman_perfect_and_reversed():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]).rho == pytest.approx(1.0)
    c = spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert c.rho == pytest.approx(-1.0) and c.p == pytest.approx(0.0, abs=1e-12) and c.n == 5


def test_spearman_with_ties_matches_hand_ranks():
    x = [0.03, 0.04, 0.02, 0.06, 1.0, 0.05]
    y = [0.80, 0.81, 0.79, 0.81, 0.82, 0.78]
    rx, ry = _ranks(x), _ranks(y)
    expected = np.corrcoef(rx, ry)[0, 1]
    got = spearman(x, y)
    assert got.rho == pytest.approx(expected)
    # p from the t approximation scipy documents: t = r sqrt((n-2)/(1-r^2)), n-2 dof.
    t = expected * math.sqrt((len(x) - 2) / (1 - expected ** 2))
    assert got.p == pytest.approx(2 * sps.t.sf(abs(t), len(x) - 2))


def test_spearman_undefined_cases():
    assert spearman([1, 2], [3, 4]).rho is None
    assert spearman([1, 2, 3], [5, 5, 5]).rho is None
    assert spearman([1, 2, 3, float("nan")], [1, 2, 3, 4]).n == 3


def test_difference_welch_and_overlap():
    a, b = [0.80, 0.81, 0.82], [0.70, 0.71, 0.72]
    d = difference(a, b)
    assert d.delta == pytest.approx(0.10)
    assert d.intervals_overlap is False and d.mark == "*"
    va, vb = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 3
    t = 0.10 / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2)
    assert d.welch_p == pytest.approx(2 * sps.t.sf(t, dof))
    close = difference([0.80, 0.82], [0.81, 0.83])
    assert close.intervals_overlap is True and close.mark == ""
    single = difference([0.8], [0.7, 0.75])
    assert single.delta == pytest.approx(0.075) and single.welch_p is None and single.mark == ""
    assert difference([], [0.7]).delta is None


def test_paired_test_uses_common_seeds_and_sees_what_welch_cannot():
    # seed effects (0.00 / 0.05 / 0.10) swamp a constant +0.004 shift: Welch sees nothing, pairs do
    a = {0: 0.804, 1: 0.8535, 2: 0.9045, 7: 0.5}  # seed 7 has no partner and is left out of the pairs
    b = {0: 0.800, 1: 0.8500, 2: 0.9000}
    d = difference(a, b)
    diffs = np.array([0.004, 0.0035, 0.0045])
    t = diffs.mean() / (diffs.std(ddof=1) / math.sqrt(3))
    assert d.paired_p == pytest.approx(2 * sps.t.sf(t, 2))
    assert d.paired_p < 0.01
    assert d.welch_p > 0.3  # the unpaired test, over all four values of a
    assert d.delta == pytest.approx(np.mean([0.804, 0.8535, 0.9045, 0.5]) - 0.85)
    # plain sequences carry no seeds: no paired test; too few or constant pairs: undefined
    assert difference([0.804, 0.8535, 0.9045], [0.8, 0.85, 0.9]).paired_p is None
    assert difference({0: 0.8}, {0: 0.7}).paired_p is None
    assert difference({0: 0.75, 1: 0.875}, {0: 0.5, 1: 0.625}).paired_p is None  # exactly 0.25 twice
