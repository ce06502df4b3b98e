"""Picking one schedule from a search's results, for export (pure: numpy only).

Filters come first, then the pick is made on the Pareto front of what is left: with
``--max-relative-cost 0.3`` the answer is the best trade-off among schedules that cost at most 0.3,
even when no point of the unfiltered front is that cheap.

Picks:
    ``knee``: the front point with the best balance of the two objectives (:func:`cpt_search.pareto.knee_index`);
    ``max-metric``: the best task metric (ties: fewer BitOPs);
    ``min-bitops``: the fewest training BitOPs (ties: better metric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from cpt_search.errors import ConfigError

PICKS = ("knee", "max-metric", "min-bitops")


@dataclass(frozen=True)
class Candidate:
    """One finished, trained trial of a search.

    Attributes:
        trial: the Optuna trial number.
        label: the schedule's short name.
        metric: the task metric (direction given separately).
        bitops: training bit operations (per-layer accounting).
        relative_cost: mean per-step cost relative to FP32.
        schedule: the schedule's parameters (``Schedule.to_dict()``).
        baseline: whether the trial was an enqueued paper preset or static baseline.
        extra: further numbers worth carrying to the export's provenance (paper_bitops, seconds...).
    """

    trial: int
    label: str
    metric: float
    bitops: float
    relative_cost: float
    schedule: Mapping[str, Any] = field(default_factory=dict)
    baseline: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def objective_matrix(candidates: Sequence[Candidate]) -> np.ndarray:
    """``(n, 2)`` array of ``(metric, bitops)``, the search's two objectives."""
    return np.array([[c.metric, c.bitops] for c in candidates], dtype=np.float64).reshape(-1, 2)


def directions(higher_is_better: bool) -> tuple[str, str]:
    """Optuna-style directions of ``(metric, bitops)``."""
    return ("maximize" if higher_is_better else "minimize", "minimize")


def front_of(candidates: Sequence[Candidate], higher_is_better: bool) -> list[Candidate]:
    """The non-dominated candidates, ordered by BitOPs (cheapest first)."""
    from cpt_search.pareto import pareto_mask

    if not candidates:
        return []
    mask = np.asarray(pareto_mask(objective_matrix(candidates), directions(higher_is_better)))
    front = [c for c, on in zip(candidates, mask) if on]
    return sorted(front, key=lambda c: (c.bitops, c.trial))


def satisfies(candidate: Candidate, *, higher_is_better: bool, max_relative_cost: float | None,
              min_metric: float | None) -> bool:
    """Whether ``candidate`` passes the filters; ``min_metric`` means "at least this good"
    (``>=`` for a metric where higher is better, ``<=`` where lower is better)."""
    if max_relative_cost is not None and candidate.relative_cost > max_relative_cost:
        return False
    if min_metric is not None:
        good_enough = candidate.metric >= min_metric if higher_is_better else candidate.metric <= min_metric
        if not good_enough:
            return False
    return True


def pick(candidates: Sequence[Candidate], how: str, *, higher_is_better: bool,
         max_relative_cost: float | None = None, min_metric: float | None = None,
         where: str = "export") -> Candidate:
    """Choose one candidate: filter, take the front of what passes, then apply ``how``.

    Raises:
        ConfigError: ``how`` is not one of :data:`PICKS`, a filter is not a finite number, or no
            candidate passes the filters (the message gives the best values that exist).
    """
    if how not in PICKS:
        raise ConfigError(f"pick must be one of {', '.join(PICKS)}", where=where, key="--pick",
                          value=how, fix=f"use one of: {', '.join(PICKS)}")
    for key, value in (("--max-relative-cost", max_relative_cost), ("--min-metric", min_metric)):
        if value is not None and not math.isfinite(value):
            raise ConfigError("a filter must be a finite number", where=where, key=key, value=value,
                              fix="pass a finite number or leave the filter out")
    usable = [c for c in candidates if math.isfinite(c.metric) and math.isfinite(c.bitops)]
    if not usable:
        raise ConfigError("the search has no finished trial to pick from", where=where,
                          fix="run the search first ('cpt-search run SPACE.yaml') or check its name")
    passing = [c for c in usable if satisfies(c, higher_is_better=higher_is_better,
                                              max_relative_cost=max_relative_cost,
                                              min_metric=min_metric)]
    if not passing:
        cheapest = min(c.relative_cost for c in usable)
        best = (max if higher_is_better else min)(c.metric for c in usable)
        raise ConfigError(
            "no finished trial satisfies the filters",
            where=where,
            value={k: v for k, v in (("max_relative_cost", max_relative_cost),
                                     ("min_metric", min_metric)) if v is not None},
            fix=f"loosen them: the cheapest trial has relative cost {cheapest:.4g}, the best metric "
                f"is {best:.4g}",
        )
    front = front_of(passing, higher_is_better)
    if how == "max-metric":
        sign = -1.0 if higher_is_better else 1.0
        return min(front, key=lambda c: (sign * c.metric, c.bitops, c.trial))
    if how == "min-bitops":
        sign = -1.0 if higher_is_better else 1.0
        return min(front, key=lambda c: (c.bitops, sign * c.metric, c.trial))
    from cpt_search.pareto import knee_index

    return front[int(knee_index(objective_matrix(front), directions(higher_is_better)))]
