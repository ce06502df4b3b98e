"""The front of a running search, recomputed from its Optuna study and told to the observers.

Driver only. After every finished or skipped trial the orchestrator's Ray callback
(:mod:`cpt_search.search.callback`) asks :class:`FrontTracker` to recompute the front from the study
(the source of truth), tell the observers (:meth:`~cpt_search.observers.SearchObserver.front_updated`)
and emit one :class:`~cpt_search.records.ProgressEvent` to the caller (the CLI prints it).
"""

from __future__ import annotations

from typing import Any, Callable

from cpt_search.observers import SearchObserver
from cpt_search.records import (
    COMPLETE,
    FrontState,
    ProgressEvent,
    TrialRecord,
    candidates,
    front_state,
    metric_reference,
    progress_of,
)
from cpt_search.search.results import load_records

REFERENCE_ATTR = "hv_reference_metric"


class FrontTracker:
    """Recomputes the front from the Optuna study and pushes it to the observers (driver only).

    Args:
        study: the search's Optuna study.
        observers: told :meth:`~cpt_search.observers.SearchObserver.front_updated`.
        higher_is_better: the metric's direction.
        total_trials: the search's target of finished trials, for progress events.
        on_progress: called with a :class:`ProgressEvent` after every finished or skipped trial.
    """

    def __init__(self, study: Any, observers: SearchObserver, *, higher_is_better: bool,
                 total_trials: int, on_progress: Callable[[ProgressEvent], None] | None = None) -> None:
        self.study = study
        self.observers = observers
        self.higher_is_better = higher_is_better
        self.total_trials = total_trials
        self.on_progress = on_progress
        self.state: FrontState | None = None

    def reference_metric(self, cands: list) -> float | None:
        """The hypervolume's metric reference, fixed once and kept in the study's user attrs."""
        stored = self.study.user_attrs.get(REFERENCE_ATTR)
        if stored is not None:
            return float(stored)
        value = metric_reference(cands, self.higher_is_better)
        if value is not None:
            self.study.set_user_attr(REFERENCE_ATTR, value)
        return value

    def refresh(self) -> tuple[list[TrialRecord], FrontState]:
        """Front of all complete trials, told to the observers (after every record, so that they
        can repair what they missed)."""
        records = load_records(self.study)
        cands = candidates(records)
        state = front_state(cands, self.higher_is_better, self.reference_metric(cands))
        # Every refresh lets the observers catch up with the study: one that missed events (a
        # tracking server away for a while) repairs itself during the search, not only at its end.
        self.observers.records_synced(records)
        self.observers.front_updated(state, progress_of(records).finished)
        self.state = state
        return records, state

    def emit(self, record: TrialRecord, records: list[TrialRecord], state: FrontState,
             error: str | None = None) -> None:
        """Tell the caller about ``record``."""
        if self.on_progress is None:
            return
        result = record.result
        reused = record.reused_from is not None
        self.on_progress(ProgressEvent(
            finished=progress_of(records).finished, total=self.total_trials, trial=record.number,
            label=record.label, status="reused" if reused else record.status,
            metric=record.values[0] if record.status == COMPLETE and record.values else None,
            relative_cost=result.get("relative_cost", record.relative_cost),
            seconds=None if reused else result.get("trial_seconds"), front_size=len(state.on_front),
            hypervolume=state.hypervolume,
            error=f"same schedule as trial {record.reused_from}, not trained again" if reused
            else error or record.error))
