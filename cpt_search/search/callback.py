"""The driver-side Ray Tune callback: Ray's trial events as observer hooks.

Ray calls it in the driver process only, after the searcher has told Optuna about a finished trial
(``TuneController.stop_trial`` and ``_process_trial_failure`` call the search algorithm first), so the
callback reads the trial's final record from the Optuna study, tells the observers
(:class:`~cpt_search.observers.SearchObserver`; the MLflow recorder is one), has the
:class:`~cpt_search.search.tracker.FrontTracker` recompute the front and emits a progress event. It
knows nothing of MLflow: observer failures are the :class:`~cpt_search.observers.ObserverGroup`'s to
count, and the orchestrator's final ``records_synced`` repairs what they missed.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

from cpt_search.observers import SearchObserver
from cpt_search.records import FINISHED_STATUSES, INFEASIBLE, RUNNING, TrialRecord
from cpt_search.search.results import load_records, read_record
from cpt_search.search.tracker import FrontTracker

log = logging.getLogger(__name__)


class SearchCallback(Callback):
    """Ray Tune callback: trial start, epoch reports and end, told to the observers.

    Args:
        tracker: recomputes the front after each finished trial (``None``: no front, e.g. an
            analysis, whose report makes its own).
        observers: the search's observers.
        study: the Optuna study (when there is no tracker).
    """

    def __init__(self, observers: SearchObserver, study: Any, tracker: FrontTracker | None = None) -> None:
        self.observers = observers
        self.study = study
        self.tracker = tracker
        self._tracebacks: dict[int, str] = {}
        self.finished: list[int] = []  # trial numbers told as finished, in order
        self.retries: dict[int, int] = {}  # trial number -> times Ray restarted it after a lost worker

    # Ray passes iteration/trials/trial (and result) as keyword arguments.
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        cpt = _cpt(trial)
        if cpt is None:
            return
        number = cpt["optuna_trial_number"]
        tags = dict(cpt.get("tags") or {})
        if number in self.retries:  # a restart after a lost worker: the same run, marked retried
            tags["ray_retries"] = str(self.retries[number])
        self.observers.trial_started(TrialRecord(
            number=number, status=RUNNING, label=cpt["label"],
            schedule=cpt["schedule"], baseline=cpt["baseline"], ray_trial_id=trial.trial_id,
            retry_of=cpt.get("retry_of"), tags=tags))

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Ray lost the trial's worker (e.g. its node died) and queued the trial again: the Optuna
        trial stays RUNNING (the searcher is told only at the end) and the restart is counted, in
        the study (user attr ``ray_retries``) and, when it starts again, on its MLflow run."""
        cpt = _cpt(trial)
        if cpt is None:
            return
        number = cpt["optuna_trial_number"]
        self.retries[number] = self.retries.get(number, 0) + 1
        error = (_ray_error(trial) or "").strip().splitlines()
        log.warning("trial %d lost its Ray worker (%s); retrying it (retry %d)", number,
                    error[-1] if error else "no error text", self.retries[number])
        try:
            storage = self.study._storage  # the public Study API cannot annotate a running trial
            trial_id = storage.get_trial_id_from_study_id_trial_number(
                storage.get_study_id_from_name(self.study.study_name), number)
            storage.set_trial_user_attr(trial_id, "ray_retries", self.retries[number])
        except Exception:  # noqa: BLE001 - the count is a note; the trial goes on either way
            log.warning("could not note the retry of trial %d in the study", number, exc_info=True)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        cpt = _cpt(trial)
        if cpt is None:
            return
        number = cpt["optuna_trial_number"]
        if result.get("kind") == "epoch":
            self.observers.trial_epoch(number, result)
        elif result.get("kind") == "failed" and result.get("error_traceback"):
            self._tracebacks[number] = str(result["error_traceback"])

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished(trial, ray_error=None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished(trial, ray_error=_ray_error(trial))

    # ------------------------------------------------------------------ searcher hooks

    def infeasible(self, number: int, info: dict, relative_cost: float) -> None:
        """Searcher hook: a schedule skipped for its cost."""
        record = TrialRecord(number=number, status=INFEASIBLE, label=info["label"],
                             schedule=info["schedule"], baseline=info["baseline"],
                             relative_cost=relative_cost, error="over constraints.max_relative_cost")
        self.observers.trial_skipped(record)
        if self.tracker is not None and self.tracker.state is not None:
            self.tracker.emit(record, load_records(self.study), self.tracker.state)

    def reused(self, number: int) -> None:
        """Searcher hook: a schedule identical to a finished one, told its result without training."""
        self._tell_finished(read_record(self.study, number))

    # ------------------------------------------------------------------ internals

    def _finished(self, trial: Any, ray_error: str | None) -> None:
        cpt = _cpt(trial)
        if cpt is None:
            return
        number = cpt["optuna_trial_number"]
        record = read_record(self.study, number)
        if record.status not in FINISHED_STATUSES:
            log.warning("trial %d ended in Ray but Optuna has it %s", number, record.status)
            return
        reason = None
        if ray_error and ray_error.strip():
            reason = "Ray trial error: " + ray_error.strip().splitlines()[-1]
        self._tell_finished(record, traceback_text=self._tracebacks.pop(number, None) or ray_error,
                            error=reason)

    def _tell_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        self.observers.trial_finished(record, traceback_text=traceback_text, error=error)
        self.finished.append(record.number)
        if self.tracker is None:
            return
        try:
            records, state = self.tracker.refresh()
        except Exception:  # noqa: BLE001 - the study is intact; the next refresh catches up
            log.warning("could not update the front", exc_info=True)
            return
        self.tracker.emit(record, records, state, error=error)


def _cpt(trial: Any) -> dict | None:
    info = (trial.config or {}).get("cpt")
    return info if isinstance(info, dict) and "optuna_trial_number" in info else None


def _ray_error(trial: Any) -> str | None:
    try:
        error = trial.get_error()
    except Exception:  # noqa: BLE001 - the error file may be missing
        return None
    return None if error is None else str(error)[-4000:]
