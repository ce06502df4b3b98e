"""Observers of a search: what the orchestrator tells the world as trials start, report and end.

A search (or an analysis, which is a search over a fixed list of trials) is observed through
:class:`SearchObserver`, a base class of no-op hooks in the spirit of Lightning's ``Callback``: an
observer overrides the hooks it cares about. The MLflow recorder
(:class:`cpt_search.tracking.recorder.MlflowRecorder`) is one observer; a search runs with none
(MLflow off), and a second one (a dashboard, a log file) is added without touching the runner.

The Optuna study is the source of truth of a search, so observers are told, never asked: a failing
observer is logged and counted by :class:`ObserverGroup` and does not stop the search; at the end the
orchestrator calls :meth:`SearchObserver.records_synced` with every record so an observer that missed
events can repair itself. Only :meth:`SearchObserver.search_started` may raise (a tracking server
that cannot be reached is reported before any trial starts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from cpt_search.disk_full import is_disk_full
from cpt_search.records import FrontState, TrialRecord
from cpt_search.records.confirmed import SearchFront
from cpt_search.select import Candidate

log = logging.getLogger(__name__)

SEARCH = "search"  # SearchInfo.kind of a sampled search; analyses name theirs (reproduce, ...)


@dataclass(frozen=True)
class SearchInfo:
    """What is being run, told to observers once before the first trial.

    Attributes:
        name: the search (or analysis) name; names the Optuna study and the MLflow experiment.
        kind: ``"search"`` for a sampled search, else the analysis (``"reproduce"``, ...).
        metric_name: the task's validation metric, the first objective.
        higher_is_better: its direction.
        seeds: the seeds each trial trains (an analysis trial carries its own in its record).
        params: the settings worth recording (task, budget, sampler, trials, ...).
        space_yaml: the resolved search space as YAML, when there is one.
        strict_params: settings must equal those recorded by an earlier session of the same name
            (analyses: a rerun with other settings would mix two experiments).
        test_metric_name: the task's test metric, recorded beside the objective (``None``: none).
    """

    name: str
    kind: str
    metric_name: str
    higher_is_better: bool
    seeds: tuple[int, ...] = (0,)
    params: Mapping[str, Any] = field(default_factory=dict)
    space_yaml: str | None = None
    strict_params: bool = False
    test_metric_name: str | None = None

    @property
    def is_search(self) -> bool:
        """Whether this is a sampled search (not a fixed analysis)."""
        return self.kind == SEARCH


class SearchObserver:
    """No-op hooks called by the orchestrator, in the driver process only, in this order:

    ``search_started`` once; then per trial ``trial_started``, ``trial_epoch`` (per evaluated epoch)
    and ``trial_finished``, or ``trial_skipped`` for a schedule never trained (over the cost
    constraint); ``records_synced`` with every record, then ``front_updated``, after every finished
    trial and at start and end; ``search_finished`` once; an analysis then ``report_written``. A seed
    confirmation (``cpt-search confirm``) calls ``search_started`` then ``front_confirmed``.
    """

    def search_started(self, info: SearchInfo) -> None:
        """The search starts (or resumes); may raise a :class:`~cpt_search.errors.TrackingError`."""

    def trial_started(self, record: TrialRecord) -> None:
        """A trial starts training (``record.status == "running"``)."""

    def trial_epoch(self, number: int, report: Mapping[str, Any]) -> None:
        """Trial ``number`` reported an evaluated epoch (the trainable's ``kind="epoch"`` report)."""

    def trial_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        """A trial finished: complete, failed, or complete by reuse of an identical schedule."""

    def trial_skipped(self, record: TrialRecord) -> None:
        """A schedule was not trained (``record.status == "infeasible"``)."""

    def front_updated(self, state: FrontState, finished: int) -> None:
        """The front after ``finished`` finished trials."""

    def records_synced(self, records: Sequence[TrialRecord]) -> None:
        """Every record as the study has it now: agree with it (repair after a crash)."""

    def search_finished(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                        state: FrontState, *, complete: bool) -> None:
        """The search stopped: ``complete`` when every target trial finished, else interrupted."""

    def report_written(self, files: Sequence[Path], metrics: Mapping[str, float | None]) -> None:
        """An analysis wrote its report files (Markdown, CSV, JSON, PNG) and summary numbers."""

    def front_confirmed(self, records: Sequence[TrialRecord], front: SearchFront) -> None:
        """A seed confirmation of the search ended: ``front`` holds the confirmed values."""


class ObserverGroup(SearchObserver):
    """Several observers as one; every hook but ``search_started`` is guarded.

    A failing observer is logged with its traceback and counted in :attr:`errors`; the others still
    run and the search goes on.
    """

    def __init__(self, observers: Sequence[SearchObserver] = ()) -> None:
        self.observers = list(observers)
        self.errors = 0
        self._disk_full_told: set[str] = set()

    def _each(self, hook: str, *args: Any, **kwargs: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, hook)(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - see the class docstring
                self.errors += 1
                kind = type(observer).__name__
                if is_disk_full(error):  # one line per observer, not a traceback per call
                    if kind not in self._disk_full_told:
                        self._disk_full_told.add(kind)
                        log.warning("observer %s cannot write: the disk is full (%s)", kind,
                                    type(error).__name__)
                    continue
                log.warning("observer %s failed in %s", kind, hook, exc_info=True)

    def search_started(self, info: SearchInfo) -> None:
        for observer in self.observers:
            observer.search_started(info)

    def trial_started(self, record: TrialRecord) -> None:
        self._each("trial_started", record)

    def trial_epoch(self, number: int, report: Mapping[str, Any]) -> None:
        self._each("trial_epoch", number, report)

    def trial_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        self._each("trial_finished", record, traceback_text=traceback_text, error=error)

    def trial_skipped(self, record: TrialRecord) -> None:
        self._each("trial_skipped", record)

    def front_updated(self, state: FrontState, finished: int) -> None:
        self._each("front_updated", state, finished)

    def records_synced(self, records: Sequence[TrialRecord]) -> None:
        self._each("records_synced", records)

    def search_finished(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                        state: FrontState, *, complete: bool) -> None:
        self._each("search_finished", records, candidates, state, complete=complete)

    def report_written(self, files: Sequence[Path], metrics: Mapping[str, float | None]) -> None:
        self._each("report_written", files, metrics)

    def front_confirmed(self, records: Sequence[TrialRecord], front: SearchFront) -> None:
        self._each("front_confirmed", records, front)
