"""The seed-confirmed front of a race, as a plain record for tables, exports and plots (pure).

The confirmed front is the set of candidates not ``off`` that no other such candidate dominates by
seed-adjusted mean and exact cost (:func:`cpt_search.pareto.pareto_mask`). ``undecided`` members stay
on it: when the budget ends before the seeds could tell two schedules apart, both are shown, each with
its interval and its probability of being non-dominated, rather than one being picked by luck.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cpt_search.confirm.racing import OFF, CandidateRecord, RaceState
from cpt_search.confirm.stats import front_probability
from cpt_search.pareto import hypervolume_2d, pareto_mask, reference_point


@dataclass(frozen=True)
class ConfirmedFront:
    """The confirmed front of a race.

    Attributes:
        ids: the members, cheapest first.
        hypervolume: area dominated by the members' ``(adjusted mean, cost)`` up to ``reference``.
        reference: ``(metric, cost)`` reference point of the hypervolume.
        rows: every candidate's record, cheapest first (members and the rest), with ``on_front`` and
            ``stats.p_front`` filled in.
    """

    ids: tuple[str, ...]
    hypervolume: float
    reference: tuple[float, float]
    rows: tuple[CandidateRecord, ...]

    def row(self, candidate_id: str) -> CandidateRecord | None:
        """The row of one candidate (``None`` when it did not take part)."""
        return next((row for row in self.rows if row.id == candidate_id), None)


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
        dataclasses.replace(
            records[i], on_front=bool(member[i]),
            stats=dataclasses.replace(records[i].stats, p_front=float(p_front[i])
                                      if records[i].stats.n_seeds >= 2 else None))
        for i in order)
    return ConfirmedFront(ids=tuple(row.id for row in rows if row.on_front), hypervolume=float(volume),
                          reference=(float(reference[0]), float(reference[1])), rows=rows)
