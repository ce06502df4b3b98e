"""Statistics of candidates trained on several seeds (pure: numpy and scipy.stats).

Every candidate's values live in one ``(candidates, seeds)`` table with a mask of the cells trained, so
the statistics the race needs are computed for all candidates at once:

* :func:`summarize`: count, mean, sample std (ddof = 1) and a Student-t confidence interval of one
  candidate's values (the numbers the front table shows).
* :func:`seed_effects`: the additive two-way model ``value = candidate effect + seed effect + noise``
  fitted by least squares on the cells trained (Montgomery, *Design and Analysis of Experiments*, ch. 4,
  randomized complete block design, here with blocks = seeds and missing cells). Trainings on one seed
  share its initial weights and data order, so part of the seed-to-seed spread is common to every
  schedule; the candidate effect (the *adjusted mean*) removes it, so candidates trained on different
  numbers of seeds are compared fairly. It also gives the noise left after the seed effects, the
  spread that matters when candidates are compared on common seeds (:func:`noise_scale`).
* :func:`paired_comparisons`: one-sided paired t-tests of every ordered pair over their common seeds,
  vectorised (one ``scipy.stats.t.sf`` call instead of ``candidates^2`` calls of ``ttest_rel``).
* :func:`front_probability`: the probability of being non-dominated, by a paired bootstrap over seeds
  (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993): each resample draws seeds with
  replacement, the *same* draw for every candidate, so common noise stays common.

Cost is exact (BitOPs are known before training), so only the metric is noisy and dominance reduces to:
``j`` dominates ``i`` when ``cost_j <= cost_i`` and ``j`` has the better metric, strictly in at least
one of the two (equal points do not dominate each other, as in :mod:`cpt_search.pareto`).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

CONFIDENCE = 0.95


@dataclass(frozen=True)
class SeedSummary:
    """Count, mean, sample std and Student-t interval of one candidate's per-seed values.

    ``std``, ``ci_low`` and ``ci_high`` are ``None`` with fewer than two values (undefined, not zero).
    """

    n_seeds: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None


def summarize(values: Mapping[int, float], confidence: float = CONFIDENCE) -> SeedSummary:
    """Summary of ``{seed: value}``: ``mean +- t_{(1+confidence)/2, n-1} * std / sqrt(n)``."""
    return summarize_table(SeedTable.of([values]), confidence)[0]


def summarize_table(table: SeedTable, confidence: float = CONFIDENCE) -> list[SeedSummary]:
    """:func:`summarize` of every row of ``table`` at once (the race asks for all of them each round)."""
    n = table.mask.sum(axis=1)
    filled = np.where(table.mask, table.values, 0.0)
    means = filled.sum(axis=1) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        stds = np.sqrt(np.where(table.mask, (filled - means[:, None]) ** 2, 0.0).sum(axis=1) / (n - 1))
    out = []
    for count, mean, std in zip(n.tolist(), means.tolist(), stds.tolist()):
        if count < 2:
            out.append(SeedSummary(count, mean, None, None, None))
            continue
        half = _t_quantile(0.5 + confidence / 2, count - 1) * std / math.sqrt(count)
        out.append(SeedSummary(count, mean, std, mean - half, mean + half))
    return out


@functools.lru_cache(maxsize=256)
def _t_quantile(q: float, dof: int) -> float:
    # Cached: a race asks for the same few degrees of freedom for every candidate, every round.
    from scipy.stats import t as student_t

    return float(student_t.ppf(q, dof))


@dataclass(frozen=True)
class SeedTable:
    """Values of ``candidates x seeds`` with the cells trained.

    Attributes:
        seeds: the columns: every seed any candidate was trained on, sorted.
        values: ``(candidates, seeds)`` float array, NaN where not trained.
        mask: ``(candidates, seeds)`` bool array, True where trained.
    """

    seeds: tuple[int, ...]
    values: np.ndarray
    mask: np.ndarray

    @classmethod
    def of(cls, per_seed: Sequence[Mapping[int, float]]) -> SeedTable:
        """The table of one ``{seed: value}`` mapping per candidate (rows in the given order)."""
        seeds = tuple(sorted({seed for values in per_seed for seed in values}))
        column = {seed: k for k, seed in enumerate(seeds)}
        table = np.full((len(per_seed), len(seeds)), np.nan)
        for row, values in enumerate(per_seed):
            for seed, value in values.items():
                table[row, column[seed]] = value
        return cls(seeds, table, ~np.isnan(table))


@dataclass(frozen=True)
class SeedEffects:
    """The additive model ``value[i, s] = adjusted_mean[i] + effect[s] + residual`` on the trained cells.

    Attributes:
        adjusted_means: candidate effects; equal to the plain mean for a candidate trained on every seed
            of the table (the seed effects sum to zero).
        effects: one effect per seed of the table (all zero when they cannot be told apart from the
            candidates', see :func:`seed_effects`).
        residual_std: the spread left after both effects (``None`` with no degrees of freedom left).
        own_std: per candidate, the spread of its own residuals (NaN with fewer than two values).
    """

    adjusted_means: np.ndarray
    effects: np.ndarray
    residual_std: float | None
    own_std: np.ndarray


def seed_effects(table: SeedTable) -> SeedEffects:
    """Least-squares fit of the additive candidate + seed model on the trained cells.

    The effects are identified only when the graph of candidates and seeds joined by trained cells is
    connected (a search trains every candidate on its own seed, which connects everything). Otherwise
    the seed effects are set to zero and the adjusted means are the plain means.
    """
    n_candidates, n_seeds = table.values.shape
    rows, cols = np.nonzero(table.mask)
    observed = table.values[rows, cols]
    counts = table.mask.sum(axis=1)
    if not _connected(table.mask):
        logger.warning("seed effects not identified (candidates share no seeds); using plain means")
        return SeedEffects(np.nanmean(table.values, axis=1), np.zeros(n_seeds), None,
                           _own_std(table, np.nanmean(table.values, axis=1), np.zeros(n_seeds)))
    design = np.zeros((len(observed), n_candidates + n_seeds))
    design[np.arange(len(observed)), rows] = 1.0
    design[np.arange(len(observed)), n_candidates + cols] = 1.0
    solution, *_ = np.linalg.lstsq(design, observed, rcond=None)
    candidate, effect = solution[:n_candidates], solution[n_candidates:]
    # The model is unchanged by moving a constant from the seeds to the candidates; fix it so the seed
    # effects sum to zero (a candidate trained on every seed keeps its plain mean).
    shift = effect.mean()
    candidate, effect = candidate + shift, effect - shift
    residuals = observed - candidate[rows] - effect[cols]
    dof = len(observed) - n_candidates - n_seeds + 1
    residual_std = float(math.sqrt(float(residuals @ residuals) / dof)) if dof > 0 else None
    assert (counts >= 1).all(), "every candidate has a value"
    return SeedEffects(candidate, effect, residual_std, _own_std(table, candidate, effect))


def _own_std(table: SeedTable, candidate: np.ndarray, effect: np.ndarray) -> np.ndarray:
    residuals = np.where(table.mask, table.values - candidate[:, None] - effect[None, :], 0.0)
    counts = table.mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.sqrt((residuals ** 2).sum(axis=1) / (counts - 1))
    return np.where(counts >= 2, own, np.nan)


def _connected(mask: np.ndarray) -> bool:
    """Whether candidates and seeds form one component when joined by trained cells."""
    n_candidates, _ = mask.shape
    reached_rows = np.zeros(n_candidates, dtype=bool)
    reached_rows[0] = True
    while True:
        reached_cols = mask[reached_rows].any(axis=0)
        grown = mask[:, reached_cols].any(axis=1) | reached_rows
        if (grown == reached_rows).all():
            return bool(grown.all())
        reached_rows = grown


def noise_scale(effects: SeedEffects, n_seeds: np.ndarray, min_seeds: int,
                noise_std: float | None) -> np.ndarray:
    """Per candidate, the standard deviation that sets its plausibility margin.

    The seed-to-seed spread of one training after removing the seed effects: the given ``noise_std``
    when known, else the pooled residual std of the table; a candidate with ``min_seeds`` or more values
    uses its own spread when that is larger (low-bit schedules are several times noisier than high-bit
    ones). Infinite when nothing is known yet (every candidate on one seed and no ``noise_std``).
    """
    pooled = noise_std if noise_std is not None else effects.residual_std
    base = np.full(len(n_seeds), math.inf if pooled is None else float(pooled))
    own = np.where(n_seeds >= min_seeds, np.nan_to_num(effects.own_std, nan=0.0), 0.0)
    return np.where(np.isfinite(base), np.maximum(base, own), base)


@dataclass(frozen=True)
class PairedComparisons:
    """One-sided paired t-tests of every ordered pair ``(i, j)`` over the seeds both were trained on.

    Attributes:
        n_common: ``(C, C)`` number of common seeds.
        gain: ``(C, C)`` mean over the common seeds of how much better ``i`` is than ``j`` (in the metric's
            units, positive = ``i`` better whatever the direction); NaN without common seeds.
        p_better: ``(C, C)`` p-value of "``i`` is no better than ``j``" against "``i`` is better"
            (``scipy.stats.ttest_rel(..., alternative="greater")`` on the gains); NaN with fewer than two
            common seeds, 1.0 when all gains are zero. ``p_better[i, j] + p_better[j, i] == 1`` otherwise.
    """

    n_common: np.ndarray
    gain: np.ndarray
    p_better: np.ndarray


def paired_comparisons(table: SeedTable, higher_is_better: bool) -> PairedComparisons:
    """All paired comparisons of the table's candidates (vectorised one-sided paired t-tests)."""
    from scipy.stats import t as student_t

    sign = 1.0 if higher_is_better else -1.0
    filled = np.where(table.mask, table.values, 0.0)
    common = table.mask[:, None, :] & table.mask[None, :, :]
    diff = np.where(common, sign * (filled[:, None, :] - filled[None, :, :]), 0.0)
    n = common.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = diff.sum(axis=2) / n
        centred = np.where(common, diff - gain[:, :, None], 0.0)
        var = (centred ** 2).sum(axis=2) / (n - 1)
        # Differences equal up to rounding (a schedule compared with itself, copied values) have no
        # spread: the t statistic is then decided by the sign of the gain alone.
        scale = max(1.0, float(np.nanmax(np.abs(table.values)))) if table.values.size else 1.0
        tol = 1e-12 * scale
        flat = var <= tol ** 2
        t_stat = gain / np.sqrt(var / n)
        p = student_t.sf(t_stat, n - 1)
    p = np.where(flat, np.where(gain > tol, 0.0, 1.0), p)
    p = np.where(n >= 2, p, np.nan)
    gain = np.where(n >= 1, gain, np.nan)
    return PairedComparisons(n_common=n, gain=gain, p_better=p)


def dominated_rows(metric_loss: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Which candidates are dominated, for each row of a batch of metric values.

    Args:
        metric_loss: ``(B, C)`` metric as a quantity to minimise (NaN = absent: dominates nothing and is
            reported as dominated).
        costs: ``(C,)`` exact costs.

    Returns: ``(B, C)`` bool. Agrees row by row with ``~cpt_search.pareto.pareto_mask`` of
    ``(metric, cost)``; batched because the bootstrap asks it for a thousand resamples at once.
    """
    loss = np.where(np.isnan(metric_loss), np.inf, metric_loss)
    cheaper_eq = costs[:, None] <= costs[None, :]          # [j, i]: j costs no more than i
    cheaper = costs[:, None] < costs[None, :]
    no_worse = loss[:, :, None] <= loss[:, None, :]       # [b, j, i]
    better = loss[:, :, None] < loss[:, None, :]
    dominates = cheaper_eq[None] & no_worse & (cheaper[None] | better)
    dominates &= np.isfinite(loss)[:, :, None]
    return dominates.any(axis=1) | ~np.isfinite(loss)


def front_probability(table: SeedTable, effects: SeedEffects, costs: Sequence[float] | np.ndarray,
                      higher_is_better: bool, samples: int, seed: int) -> np.ndarray:
    """Probability of each candidate being non-dominated, by a paired bootstrap over seeds.

    Each of ``samples`` resamples draws ``len(table.seeds)`` seeds with replacement, the same draw for
    every candidate, and takes each candidate's mean of its seed-adjusted values on the drawn seeds it
    was trained on (its adjusted mean when it has none of them). A candidate with one value has no
    spread in any resample, so its probability is 0 or 1 (the front rows show ``None`` for it).
    Deterministic given ``seed``; memory and time grow as ``samples x candidates^2``.
    """
    rng = np.random.default_rng(seed)
    n_seeds = len(table.seeds)
    weights = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=samples).astype(np.float64)
    adjusted = np.where(table.mask, table.values - effects.effects[None, :], 0.0)
    numerator = weights @ adjusted.T                        # (B, C)
    denominator = weights @ table.mask.T.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(denominator > 0, numerator / denominator, effects.adjusted_means[None, :])
    sign = -1.0 if higher_is_better else 1.0
    cost_array = np.asarray(costs, dtype=np.float64)
    # Chunks of resamples keep the (chunk, C, C) dominance arrays near 4 M cells whatever C is.
    chunk = max(1, 4_000_000 // max(1, len(cost_array) ** 2))
    on_front = np.zeros(len(cost_array))
    for start in range(0, samples, chunk):
        on_front += (~dominated_rows(sign * means[start:start + chunk], cost_array)).sum(axis=0)
    return on_front / samples
