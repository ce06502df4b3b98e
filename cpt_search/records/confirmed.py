"""A search's front as every reader shows it: one-seed, or seed-confirmed once a confirmation ran (pure).

:class:`SearchFront` is the one record of a front: ``cpt-search run`` prints it, ``front`` and
``export`` read it from the store, and the MLflow recorder tags runs and writes the parent's table from
it. Without a confirmation its members are the non-dominated trials of the search, each on the search's
own seed(s). After one (:mod:`cpt_search.confirm`, docs/confirmation.md), every distinct schedule the
search trained is a race candidate whose values are the search's training plus its confirm trainings;
the members are the race's confirmed front, each member's ``metric`` is its seed-adjusted mean (what
the front ranks by, comparable across schedules trained on different numbers of seeds) and its
``extra`` carries :data:`CONFIRM_FIELDS`: seeds trained, plain mean, std, 95 % interval and the
bootstrap probability of being non-dominated.

A confirmation's trainings live in their own Optuna study, :func:`confirm_study_name`, as analysis
jobs keyed by (schedule, seed), so a pair that finished is never trained again (:func:`schedule_key`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from cpt_search.records.front import cost_fraction, front_state
from cpt_search.records.trial import TrialRecord, candidates
from cpt_search.select import Candidate

if TYPE_CHECKING:
    from cpt_search.confirm import CandidateRecord, ConfirmedFront, ConfirmSettings

CONFIRM_STUDY_SUFFIX = ".confirm"
# Keys a confirmed member's Candidate.extra carries (the export's provenance and the MLflow metrics).
CONFIRM_FIELDS = ("search_metric", "n_seeds", "mean", "std", "ci_low", "ci_high", "p_front", "confirm_status")


def confirm_study_name(search: str) -> str:
    """The Optuna study (and MLflow experiment ``cpt_search/NAME.confirm``) of a search's confirmation."""
    return f"{search}{CONFIRM_STUDY_SUFFIX}"


def schedule_key(schedule: Mapping[str, Any]) -> str:
    """The canonical schedule as sorted JSON: static 5/8 sampled with two profiles is one schedule, so
    it is one candidate and is trained once per seed."""
    from cpt_search.piecewise import schedule_from_any_dict

    parsed = schedule_from_any_dict(schedule)
    canonical = parsed.canonical() if hasattr(parsed, "canonical") else parsed
    return json.dumps(canonical.to_dict(), sort_keys=True)


def search_values(record: TrialRecord, search_seeds: Sequence[int]) -> dict[int, float]:
    """``{seed: metric}`` of a complete search trial: per seed when the trial reported them
    (``seed_metrics``), else its one value under its one seed."""
    assert record.values is not None, record
    per_seed = record.result.get("seed_metrics")
    if isinstance(per_seed, Mapping) and per_seed:
        return {int(seed): float(value) for seed, value in per_seed.items()}
    # An older multi-seed record holds only the mean: it stands for the first seed (documented loss).
    return {int(search_seeds[0]): float(record.values[0])}


@dataclass(frozen=True)
class SearchFront:
    """The front of a search, one-seed or confirmed.

    Attributes:
        metric_name, higher_is_better: the task metric and its direction.
        members: the front, cheapest first; confirmed: ``metric`` is the seed-adjusted mean and ``extra``
            holds :data:`CONFIRM_FIELDS`.
        choices: what an export picks from: every complete trial, or after a confirmation every
            distinct schedule not ruled ``off``, with its confirmed values.
        hypervolume: area dominated by the members in ``(metric, cost fraction)`` up to ``reference``.
        reference: the ``(metric, cost fraction)`` reference point (the search's own, fixed early).
        confirmed: the race's front and rows, or ``None`` without a confirmation.
        settings: the confirmation's settings, or ``None``.
    """

    metric_name: str
    higher_is_better: bool
    members: tuple[Candidate, ...]
    choices: tuple[Candidate, ...]
    hypervolume: float
    reference: tuple[float, float]
    confirmed: ConfirmedFront | None = None
    settings: ConfirmSettings | None = None

    @property
    def on_front(self) -> frozenset[int]:
        """Trial numbers of the members."""
        return frozenset(c.trial for c in self.members)

    def row(self, trial: int) -> CandidateRecord | None:
        """The confirmation row of trial ``trial`` (its schedule's candidate), if confirmed."""
        return None if self.confirmed is None else self.confirmed.row(str(trial))


def search_front(records: Sequence[TrialRecord], *, metric_name: str, higher_is_better: bool,
                 reference_metric: float | None, search_seeds: Sequence[int] = (0,),
                 settings: ConfirmSettings | None = None,
                 confirm_values: Mapping[str, Mapping[int, float]] | None = None,
                 confirm_test_values: Mapping[str, Mapping[int, float]] | None = None) -> SearchFront:
    """The front of ``records``; confirmed when ``settings`` are given.

    Args:
        records: every trial of the search.
        reference_metric: the metric half of the hypervolume's reference point (``None``: derived).
        search_seeds: the seeds every search trial trained.
        settings: the confirmation's settings (``None``: the one-seed front).
        confirm_values: ``{schedule_key: {seed: metric}}`` of the confirmation's finished trainings
            (a failed training counts as the reference metric, the worst value).
        confirm_test_values: ``{schedule_key: {seed: test metric}}`` of the same trainings; a confirmed
            candidate's ``test_metric`` becomes the mean over its search seed and these, so the test
            column rests on the same seeds as the metric beside it.
    """
    cands = candidates(list(records))
    state = front_state(cands, higher_is_better, reference_metric)
    if settings is None or not cands:
        members = tuple(sorted((c for c in cands if c.trial in state.on_front), key=lambda c: (c.bitops, c.trial)))
        return SearchFront(metric_name, higher_is_better, members, tuple(cands), state.hypervolume,
                           state.reference)
    from cpt_search.confirm import race

    race_cands, by_id, keys = race_candidates(records, search_seeds, confirm_values or {})
    front = race(race_cands, settings, higher_is_better).front(reference=state.reference)
    confirmed: dict[str, Candidate] = {}
    for row in front.rows:
        tests = (confirm_test_values or {}).get(keys[row.id], {})
        confirmed[row.id] = confirm_candidate(by_id[row.id], row, tests, search_seeds[0])
    members = tuple(confirmed[i] for i in front.ids)
    choices = tuple(confirmed[row.id] for row in front.rows if row.status != "off")
    return SearchFront(metric_name, higher_is_better, members, choices, front.hypervolume, front.reference,
                       confirmed=front, settings=settings)


def race_candidates(records: Sequence[TrialRecord], search_seeds: Sequence[int],
                    confirm_values: Mapping[str, Mapping[int, float]],
                    ) -> tuple[list[Any], dict[str, Candidate], dict[str, str]]:
    """One :class:`~cpt_search.confirm.RaceCandidate` per distinct schedule of the complete trials
    (id: its first trial's number; cost: the cost fraction), the candidate of each id and the
    schedule key (:func:`schedule_key`) of each id."""
    from cpt_search.confirm import RaceCandidate

    out: list[Any] = []
    by_id: dict[str, Candidate] = {}
    keys: dict[str, str] = {}
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: r.number):
        if record.status != "complete" or record.values is None or not all(map(math.isfinite, record.values)):
            continue
        key = schedule_key(record.schedule)
        if key in seen:  # an identical schedule (reused result): one candidate
            continue
        seen.add(key)
        values = search_values(record, search_seeds)
        values.update({int(s): float(v) for s, v in confirm_values.get(key, {}).items()})
        candidate = record.candidate()
        out.append(RaceCandidate(str(record.number), cost_fraction(candidate), values))
        by_id[str(record.number)] = candidate
        keys[str(record.number)] = key
    return out, by_id, keys


def confirm_candidate(candidate: Candidate, row: CandidateRecord,
                      confirm_tests: Mapping[int, float] | None = None, search_seed: int = 0) -> Candidate:
    """``candidate`` with its confirmed metric (seed-adjusted mean) and the statistics in ``extra``;
    its ``test_metric`` is the plain mean over the search seed and ``confirm_tests`` (the search's own
    value stays as ``search_test_metric``, the count as ``test_n_seeds``)."""
    stats = row.stats
    extra = dict(candidate.extra, search_metric=candidate.metric, n_seeds=stats.n_seeds, mean=stats.mean,
                 std=stats.std, ci_low=stats.ci_low, ci_high=stats.ci_high, p_front=stats.p_front,
                 confirm_status=row.status)
    search_test = candidate.extra.get("test_metric")
    if search_test is not None:
        tests = {search_seed: float(search_test), **{int(s): float(v) for s, v in (confirm_tests or {}).items()}}
        extra.update(search_test_metric=search_test, test_metric=sum(tests.values()) / len(tests),
                     test_n_seeds=len(tests))
    return replace(candidate, metric=float(stats.adjusted_mean), extra=extra)
