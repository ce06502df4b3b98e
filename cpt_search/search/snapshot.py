"""Reading a stored search without running it (``cpt-search front`` and ``export``).

Everything comes from the Optuna storage in the store (the source of truth); MLflow is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpt_search.errors import TrackingError
from cpt_search.records import FrontState, TrialRecord, candidates, front_state
from cpt_search.search.results import load_records
from cpt_search.select import Candidate
from cpt_search.store import Store


@dataclass(frozen=True)
class SearchSnapshot:
    """A stored search as it is now.

    Attributes:
        name: the search (= Optuna study) name.
        records: every trial.
        candidates: the complete trials.
        front: the non-dominated candidates, cheapest first.
        state: ranks and hypervolume.
        metric_name, higher_is_better: the task's validation metric (the objective), its direction.
        task, budget: what the trials trained.
        test_metric_name: the task's test metric, shown beside the objective (``None``: none).
    """

    name: str
    records: tuple[TrialRecord, ...]
    candidates: tuple[Candidate, ...]
    front: tuple[Candidate, ...]
    state: FrontState
    metric_name: str
    higher_is_better: bool
    task: str
    budget: str
    test_metric_name: str | None = None


def search_names(store: Store) -> list[str]:
    """Names of the searches in the store's Optuna storage (empty when there is none)."""
    if not store.optuna_db.is_file():
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
    study = optuna.load_study(study_name=name, storage=open_storage(store.optuna_url))
    higher_is_better = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    records = tuple(load_records(study))
    cands = tuple(candidates(list(records)))
    reference = study.user_attrs.get("hv_reference_metric")
    state = front_state(cands, higher_is_better, None if reference is None else float(reference))
    front = tuple(sorted((c for c in cands if c.trial in state.on_front), key=lambda c: (c.bitops, c.trial)))
    return SearchSnapshot(name=name, records=records, candidates=cands, front=front, state=state,
                          metric_name=str(study.user_attrs.get("metric_name", "metric")),
                          higher_is_better=higher_is_better, task=str(study.user_attrs.get("task", "?")),
                          budget=str(study.user_attrs.get("budget", "?")),
                          test_metric_name=study.user_attrs.get("test_metric_name"))
