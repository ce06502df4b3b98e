"""``cpt-search sync NAME``: make MLflow agree with a search's Optuna study, after the fact.

The study is the search's source of truth. When the tracking server was away as the search ended
(or the search ran with ``--no-mlflow``), MLflow lacks runs, final values, front tags or the front
files. :func:`sync_search` replays them from the study through the same recorder a search uses:
it finds (or creates) the experiment and the parent run, re-reads the child runs (deleting a run
created twice for one trial), finishes, fails or retires every child run as the study says, re-tags
the front, logs the hypervolume at the current count and writes the front files. Runs are found
by their tags before any is created, so syncing twice changes nothing the second time.

The search's lock is held while syncing: a driver still running the search would race it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cpt_search.errors import TrackingError
from cpt_search.observers import SEARCH, SearchInfo
from cpt_search.orchestrate.session import locked, make_observers
from cpt_search.store import Store, experiment_name

log = logging.getLogger(__name__)

TARGET_ATTR = "target_trials"  # the study's user attr: finished trials the search aims for


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync found and did.

    Attributes:
        name: the search; ``experiment`` its MLflow experiment; ``parent_run_id`` its parent run.
        finished: finished trials in the study.
        runs: the search's child runs in MLflow after the sync.
        repaired: child runs created, finished or retired by this sync.
        complete: whether the search reached its target (the parent run is FINISHED, else KILLED).
    """

    name: str
    experiment: str
    parent_run_id: str
    finished: int
    runs: int
    repaired: int
    complete: bool


def sync_search(store: Store, name: str) -> SyncOutcome:
    """Replay search ``name``'s study into MLflow (``TrackingError`` when the search is unknown,
    its driver still runs, or the tracking server does not answer)."""
    import optuna

    from cpt_search.records import candidates, progress_of
    from cpt_search.search.resume import open_storage
    from cpt_search.search.snapshot import load_search
    from cpt_search.search.tracker import FrontTracker
    from cpt_search.space.names import check_search_name

    name = check_search_name(name, where="NAME")  # before the lock: the name makes its file's path
    if not store.optuna_db.is_file():
        raise TrackingError("no Optuna storage in the store", where=str(store.root), key="name", value=name,
                            fix="pass the --store DIR the search ran with")
    with locked(store, name):
        snapshot = load_search(store, name)
        study = optuna.load_study(study_name=name, storage=open_storage(store.optuna_url))
        # Unguarded on purpose: a sync that cannot reach MLflow must say so, not pause.
        _, recorder = make_observers(store, tracking=True)
        assert recorder is not None
        recorder.search_started(SearchInfo(
            name=name, kind=SEARCH, metric_name=snapshot.metric_name,
            higher_is_better=snapshot.higher_is_better, seeds=snapshot.seeds,
            test_metric_name=snapshot.test_metric_name))
        records = list(snapshot.records)
        repaired = recorder.repair(records)
        tracker = FrontTracker(study, recorder, higher_is_better=snapshot.higher_is_better,
                               total_trials=len(records))
        records, state = tracker.refresh()
        progress = progress_of(records)
        target = study.user_attrs.get(TARGET_ATTR)
        complete = (progress.finished >= int(target)) if target is not None else \
            not any(r.status in ("running", "waiting") for r in records)
        recorder.search_finished(records, candidates(records), state, complete=complete)
        assert recorder.parent_run_id is not None
        log.info("synced %s: %d run(s) repaired", name, repaired)
        return SyncOutcome(name=name, experiment=experiment_name(name), parent_run_id=recorder.parent_run_id,
                           finished=progress.finished, runs=len(recorder.run_ids()), repaired=repaired,
                           complete=complete)
