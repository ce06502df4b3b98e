"""Reading a stored search without running it (``cpt-search front``, ``export`` and ``confirm``).

Everything comes from the Optuna storage in the store (the source of truth); MLflow is not needed. A
search that was confirmed keeps its confirmation's settings in study user attr ``confirm`` and the
trainings in the study :func:`~cpt_search.records.confirmed.confirm_study_name`; the front is then the
confirmed one (:func:`cpt_search.records.confirmed.search_front`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from cpt_search.errors import TrackingError
from cpt_search.records import COMPLETE, FAILED, TrialRecord, candidates, metric_reference
from cpt_search.records.confirmed import SearchFront, confirm_study_name, schedule_key, search_front
from cpt_search.search.results import load_records
from cpt_search.select import Candidate
from cpt_search.store import Store
from cpt_search.tasks.function import budget_label

CONFIRM_ATTR = "confirm"  # the search study's user attr holding the last confirmation's settings
SEEDS_ATTR = "search_seeds"


@dataclass(frozen=True)
class SearchSnapshot:
    """A stored search as it is now.

    Attributes:
        name: the search (= Optuna study) name.
        records: every trial.
        candidates: the complete trials.
        front: the front (confirmed when a confirmation ran), its hypervolume and what export picks from.
        task, budget: what the trials trained.
        seeds: the seeds every search trial trained.
        attrs: the study's user attrs (the settings recorded by ``cpt-search run``).
        test_metric_name: the task's test metric, shown beside the objective (``None``: none).
    """

    name: str
    records: tuple[TrialRecord, ...]
    candidates: tuple[Candidate, ...]
    front: SearchFront
    task: str
    budget: str
    seeds: tuple[int, ...] = (0,)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    test_metric_name: str | None = None

    @property
    def metric_name(self) -> str:
        """The task metric."""
        return self.front.metric_name

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction."""
        return self.front.higher_is_better


def search_names(store: Store) -> list[str]:
    """Names of the searches in the store's Optuna storage (empty when there is none)."""
    if store.optuna_local and not store.optuna_db.is_file():
        return []
    from cpt_search.search.resume import open_storage

    return sorted(s.study_name for s in open_storage(store.optuna_url).get_all_studies())


def load_search(store: Store, name: str) -> SearchSnapshot:
    """The stored search ``name`` (``TrackingError`` naming the known searches when absent)."""
    import optuna

    from cpt_search.search.resume import open_storage

    known = search_names(store)
    if name not in known:
        raise TrackingError("no search of this name in the store", where=str(store.root), key="name",
                            value=name, fix=(f"known searches: {', '.join(known)}" if known else
                                             "run 'cpt-search run SPACE.yaml' first, or pass --store DIR"))
    storage = open_storage(store.optuna_url)
    study = optuna.load_study(study_name=name, storage=storage)
    higher_is_better = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    records = tuple(load_records(study))
    cands = tuple(candidates(list(records)))
    attrs = dict(study.user_attrs)
    reference = attrs.get("hv_reference_metric")
    reference = None if reference is None else float(reference)
    seeds = tuple(int(s) for s in attrs.get(SEEDS_ATTR) or (0,))
    settings = confirm_settings_of(attrs)
    values: dict[str, dict[int, float]] = {}
    test_values: dict[str, dict[int, float]] = {}
    if settings is not None:
        worst = reference if reference is not None else metric_reference(list(cands), higher_is_better)
        values, test_values = confirm_results(storage, name, 0.0 if worst is None else worst)
    front = search_front(records, metric_name=str(attrs.get("metric_name", "metric")),
                         higher_is_better=higher_is_better, reference_metric=reference, search_seeds=seeds,
                         settings=settings, confirm_values=values, confirm_test_values=test_values)
    return SearchSnapshot(name=name, records=records, candidates=cands, front=front,
                          task=str(attrs.get("task", "?")), budget=budget_label(attrs.get("budget", "?")),
                          seeds=seeds, attrs=attrs, test_metric_name=attrs.get("test_metric_name"))


def confirm_settings_of(attrs: Mapping[str, Any]) -> Any:
    """The :class:`~cpt_search.confirm.ConfirmSettings` recorded on a search study (``None``: never confirmed)."""
    stored = attrs.get(CONFIRM_ATTR)
    if not stored:
        return None
    from cpt_search.confirm import ConfirmSettings

    return ConfirmSettings(**{**stored, "seeds": tuple(stored["seeds"])})


def confirm_values(storage: Any, name: str, worst: float) -> dict[str, dict[int, float]]:
    """``{schedule key: {seed: metric}}`` of the finished trainings of search ``name``'s confirmation
    (the first half of :func:`confirm_results`)."""
    return confirm_results(storage, name, worst)[0]


def confirm_results(storage: Any, name: str,
                    worst: float) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """``({schedule key: {seed: metric}}, {schedule key: {seed: test metric}})`` of the finished
    trainings of search ``name``'s confirmation, read in one pass.

    A failed training counts as ``worst`` (the metric's reference value): it is finished, so it is not
    asked for again, and it ranks its schedule as it deserves. It has no test value; neither has a
    training of a task without a test split.
    """
    import optuna

    from cpt_search.search.resume import study_exists

    values: dict[str, dict[int, float]] = {}
    tests: dict[str, dict[int, float]] = {}
    study_name = confirm_study_name(name)
    if not study_exists(storage, study_name):
        return values, tests
    for record in load_records(optuna.load_study(study_name=study_name, storage=storage)):
        if record.status not in (COMPLETE, FAILED) or not record.schedule or "seed" not in record.tags:
            continue
        key, seed = schedule_key(record.schedule), int(record.tags["seed"])
        value = float(record.values[0]) if record.status == COMPLETE and record.values else float(worst)
        values.setdefault(key, {}).setdefault(seed, value)
        test = record.test_metric if record.status == COMPLETE else None
        if test is not None:
            tests.setdefault(key, {}).setdefault(seed, float(test))
    return values, tests
