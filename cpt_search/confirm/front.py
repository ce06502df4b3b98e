"""The seed-confirmed front of a race, as a plain record for tables, exports and plots (pure).

The confirmed front is the set of candidates not ``off`` that no other such candidate dominates by
seed-adjusted mean and exact cost (:func:`cpt_search.pareto.pareto_mask`). ``undecided`` members stay
on it: when the budget ends before the seeds could tell two schedules apart, both are shown, each with
its interval and its probability of being non-dominated, rather than one being picked by luck.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cpt_search.confirm.racing import OFF, RaceState
from cpt_search.confirm.stats import front_probability
from cpt_search.pareto import hypervolume_2d, pareto_mask, reference_point


@dataclass(frozen=True)
class FrontRow:
    """One candidate as the CLI and exports show it.

    Attributes:
        id: the candidate's id.
        cost: its exact cost.
        status: ``"on"``, ``"off"`` or ``"undecided"`` (the race's verdict).
        on_front: whether it is on the confirmed front.
        n_seeds: seeds trained.
        mean: plain mean over them.
        std: sample std (``None`` with one seed).
        ci_low, ci_high: 95 % Student-t interval of the mean (``None`` with one seed).
        adjusted_mean: mean with the seed effects removed (what the front ranks by).
        p_front: paired-bootstrap probability of being non-dominated among all candidates; ``None`` with
            one seed (nothing to resample: the bootstrap would say 0 or 1 with no evidence behind it).
        why: the race's one-line reason.
    """

    id: str
    cost: float
    status: str
    on_front: bool
    n_seeds: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    adjusted_mean: float
    p_front: float | None
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-safe dict (``None`` where undefined)."""
        return asdict(self)


@dataclass(frozen=True)
class ConfirmedFront:
    """The confirmed front of a race.

    Attributes:
        ids: the members, cheapest first.
        hypervolume: area dominated by the members' ``(adjusted mean, cost)`` up to ``reference``.
        reference: ``(metric, cost)`` reference point of the hypervolume.
        rows: every candidate, cheapest first (members and the rest).
    """

    ids: tuple[str, ...]
    hypervolume: float
    reference: tuple[float, float]
    rows: tuple[FrontRow, ...]


def confirmed_front(state: RaceState, reference: tuple[float, float] | None = None) -> ConfirmedFront:
    """The confirmed front of ``state``.

    ``reference`` is the hypervolume's ``(metric, cost)`` reference point in the candidates' units; pass
    the search's own (e.g. ``(0.0, 1.0)`` for accuracy against cost as a fraction of FP32) so that the
    confirmed and the one-seed hypervolume compare. By default it is
    :func:`cpt_search.pareto.reference_point` of all candidates.
    """
    records = state.records
    direction = "maximize" if state.higher_is_better else "minimize"
    directions = (direction, "minimize")
    points = np.array([[r.stats.adjusted_mean, r.cost] for r in records], dtype=np.float64)
    not_off = np.array([r.status != OFF for r in records])
    member = np.zeros(len(records), dtype=bool)
    member[not_off] = pareto_mask(points[not_off], directions)
    if reference is None:
        reference = reference_point(points, directions)
    volume = hypervolume_2d(points[member], reference, directions)
    settings = state.settings
    p_front = front_probability(state.table, state.effects, points[:, 1], state.higher_is_better,
                                settings.bootstrap_samples, settings.bootstrap_seed)
    order = sorted(range(len(records)), key=lambda i: (records[i].cost, -points[i, 0] if state.higher_is_better
                                                       else points[i, 0]))
    rows = tuple(
        FrontRow(id=records[i].id, cost=records[i].cost, status=records[i].status, on_front=bool(member[i]),
                 n_seeds=records[i].stats.n_seeds, mean=records[i].stats.mean, std=records[i].stats.std,
                 ci_low=records[i].stats.ci_low, ci_high=records[i].stats.ci_high,
                 adjusted_mean=records[i].stats.adjusted_mean,
                 p_front=float(p_front[i]) if records[i].stats.n_seeds >= 2 else None, why=records[i].why)
        for i in order)
    return ConfirmedFront(ids=tuple(row.id for row in rows if row.on_front), hypervolume=float(volume),
                          reference=(float(reference[0]), float(reference[1])), rows=rows)
