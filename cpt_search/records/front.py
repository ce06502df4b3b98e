"""The current Pareto front of a search, as a plain record (no plotting, no tracking).

Objectives are ``(metric, bitops)``. The hypervolume is measured in ``(metric, bitops / fp32_bitops)``
(the training cost as a fraction of the same training in FP32), so its reference point can be fixed
before the first trial finishes and the history stays comparable: the cost reference is ``1.0``
(FP32 training) and the metric reference is ``0`` for a metric where higher is better (accuracy) or,
for a lower-is-better metric, twice the first finished trial's value (recorded once, then kept).
For one task and budget ``fp32_bitops`` is a constant, so the front in these units is the front in BitOPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from cpt_search.select import Candidate, directions, objective_matrix

COST_REFERENCE = 1.0


@dataclass(frozen=True)
class FrontState:
    """The front after some finished trials.

    Attributes:
        on_front: Optuna trial numbers of the non-dominated complete trials.
        ranks: non-domination rank of every complete trial (0 = on the front).
        hypervolume: dominated area in ``(metric, cost fraction)`` up to ``reference``.
        reference: ``(metric, cost fraction)`` reference point of the hypervolume.
    """

    on_front: frozenset[int]
    ranks: Mapping[int, int]
    hypervolume: float
    reference: tuple[float, float]


def metric_reference(candidates: Sequence[Candidate], higher_is_better: bool) -> float | None:
    """The metric half of the reference point (``None`` until a lower-is-better metric has data)."""
    if higher_is_better:
        return 0.0
    if not candidates:
        return None
    first = min(candidates, key=lambda c: c.trial)
    return 2.0 * abs(first.metric) if first.metric != 0 else 1.0


def cost_fraction(candidate: Candidate) -> float:
    """``bitops / fp32_bitops`` of a candidate (the per-layer relative cost)."""
    fp32 = candidate.extra.get("fp32_bitops")
    if fp32:
        return float(candidate.bitops) / float(fp32)
    return float(candidate.relative_cost)  # older records: the schedule-only figure


def front_state(candidates: Sequence[Candidate], higher_is_better: bool,
                reference_metric: float | None) -> FrontState:
    """Front, ranks and hypervolume of ``candidates``."""
    from cpt_search.pareto import hypervolume_2d, pareto_ranks

    dirs = directions(higher_is_better)
    if not candidates:
        reference = (math.nan if reference_metric is None else reference_metric, COST_REFERENCE)
        return FrontState(frozenset(), {}, 0.0, reference)
    ranks = np.asarray(pareto_ranks(objective_matrix(candidates), dirs)).astype(int)
    on_front = frozenset(c.trial for c, r in zip(candidates, ranks) if r == 0)
    if reference_metric is None:
        reference_metric = metric_reference(candidates, higher_is_better)
    reference = (math.nan if reference_metric is None else float(reference_metric), COST_REFERENCE)
    points = np.array([[c.metric, cost_fraction(c)] for c in candidates], dtype=np.float64)
    volume = float(hypervolume_2d(points, reference, dirs))
    return FrontState(on_front=on_front, ranks={c.trial: int(r) for c, r in zip(candidates, ranks)},
                      hypervolume=volume, reference=reference)
