"""The driver-side Ray Tune callback that records a search as its trials start, report and end.

Ray calls it in the driver process only, after the searcher has told Optuna about a finished trial
(``TuneController.stop_trial`` and ``_process_trial_failure`` call the search algorithm first), so the
callback reads the trial's final record from the Optuna study, logs it to MLflow, recomputes the front,
re-tags the child runs, logs the hypervolume and emits a :class:`~cpt_search.search.progress.ProgressEvent`.
A tracking failure is logged and does not stop the search: the Optuna study keeps the truth and the
runner's final :meth:`~cpt_search.tracking.recorder.SearchRecorder.sync` repairs MLflow.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ray.tune import Callback

from cpt_search.search.front import FrontState, front_state, metric_reference
from cpt_search.search.progress import ProgressEvent
from cpt_search.search.results import (COMPLETE, FINISHED_STATUSES, TrialRecord, candidates,
                                       load_records, read_record)
from cpt_search.search.resume import progress_of
from cpt_search.tracking.recorder import SearchRecorder

log = logging.getLogger(__name__)

REFERENCE_ATTR = "hv_reference_metric"


class FrontTracker:
    """Recomputes the front from the Optuna study and pushes it to MLflow (driver only).

    Args:
        study: the search's Optuna study.
        recorder: its MLflow recorder (opened).
        higher_is_better: the metric's direction.
        total_trials: ``num_trials`` of the search, for progress events.
        on_progress: called with a :class:`ProgressEvent` after every finished or skipped trial.
    """

    def __init__(self, study: Any, recorder: SearchRecorder, *, higher_is_better: bool,
                 total_trials: int, on_progress: Callable[[ProgressEvent], None] | None = None) -> None:
        self.study = study
        self.recorder = recorder
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
        """Front of all complete trials; tags and hypervolume pushed to MLflow."""
        records = load_records(self.study)
        cands = candidates(records)
        state = front_state(cands, self.higher_is_better, self.reference_metric(cands))
        self.recorder.update_front(state, progress_of(records).finished)
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


class SearchCallback(Callback):
    """Ray Tune callback: MLflow child runs, epoch curves, final values, front tags, progress."""

    def __init__(self, tracker: FrontTracker) -> None:
        self.tracker = tracker
        self.recorder = tracker.recorder
        self._tracebacks: dict[int, str] = {}
        self.tracking_errors = 0

    # Ray passes iteration/trials/trial (and result) as keyword arguments.
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        info_ = _cpt(trial)
        if info_ is None:
            return
        self._guard(self.recorder.trial_started, info_["optuna_trial_number"], label=info_["label"],
                    schedule=info_["schedule"], baseline=info_["baseline"],
                    ray_trial_id=trial.trial_id, retry_of=info_.get("retry_of"))

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        info_ = _cpt(trial)
        if info_ is None:
            return
        number = info_["optuna_trial_number"]
        if result.get("kind") == "epoch":
            self._guard(self.recorder.trial_epoch, number, result)
        elif result.get("kind") == "failed" and result.get("error_traceback"):
            self._tracebacks[number] = str(result["error_traceback"])

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished(trial, ray_error=None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished(trial, ray_error=_ray_error(trial))

    def infeasible(self, number: int, info: dict, relative_cost: float) -> None:
        """Searcher hook: a schedule skipped for its cost."""
        self._guard(self.recorder.trial_infeasible, number, label=info["label"],
                    schedule=info["schedule"], baseline=info["baseline"], relative_cost=relative_cost)
        record = TrialRecord(number=number, status="infeasible", label=info["label"],
                             schedule=info["schedule"], baseline=info["baseline"],
                             relative_cost=relative_cost, error="over constraints.max_relative_cost")
        if self.tracker.state is not None:
            records = load_records(self.tracker.study)
            self.tracker.emit(record, records, self.tracker.state)

    def _finished(self, trial: Any, ray_error: str | None) -> None:
        info_ = _cpt(trial)
        if info_ is None:
            return
        number = info_["optuna_trial_number"]
        record = read_record(self.tracker.study, number)
        if record.status not in FINISHED_STATUSES:
            log.warning("trial %d ended in Ray but Optuna has it %s", number, record.status)
            return
        reason = None
        if ray_error and ray_error.strip():
            reason = "Ray trial error: " + ray_error.strip().splitlines()[-1]
        self._log_finished(record, traceback_text=self._tracebacks.pop(number, None) or ray_error,
                           error=reason)

    def reused(self, number: int) -> None:
        """Searcher hook: a schedule identical to a finished one, told its result without training."""
        self._log_finished(read_record(self.tracker.study, number))

    def _log_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                      error: str | None = None) -> None:
        self._guard(self.recorder.trial_finished, record, traceback_text=traceback_text, error=error)
        try:
            records, state = self.tracker.refresh()
        except Exception:  # noqa: BLE001 - see the module docstring
            self.tracking_errors += 1
            log.warning("could not update the front in MLflow", exc_info=True)
            return
        self.tracker.emit(record, records, state, error=error)

    def _guard(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            method(*args, **kwargs)
        except Exception:  # noqa: BLE001 - see the module docstring
            self.tracking_errors += 1
            log.warning("MLflow logging failed in %s", method.__name__, exc_info=True)


def _cpt(trial: Any) -> dict | None:
    info = (trial.config or {}).get("cpt")
    return info if isinstance(info, dict) and "optuna_trial_number" in info else None


def _ray_error(trial: Any) -> str | None:
    try:
        error = trial.get_error()
    except Exception:  # noqa: BLE001 - the error file may be missing
        return None
    return None if error is None else str(error)[-4000:]
