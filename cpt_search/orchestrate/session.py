"""What a search and an analysis share: one driver per name, the study, the observers, the trials.

:func:`locked` holds the store's lock of a name for the whole session (two drivers on one study
would race). :func:`open_session_study` opens (or creates) the Optuna study, checks that it was made
for the same task and settings, and marks trials a crash left RUNNING as interrupted (enqueued again).
:func:`run_session` runs the remaining trials through Ray Tune with the observers told everything,
and tidies the study and the observers at the end whatever happened (success, Ctrl-C, errors).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from cpt_search.errors import TrackingError
from cpt_search.observers import ObserverGroup, SearchInfo, SearchObserver
from cpt_search.records import FrontState, Progress, ProgressEvent, TrialRecord, candidates, progress_of
from cpt_search.select import Candidate
from cpt_search.store import Store

log = logging.getLogger(__name__)


@contextlib.contextmanager
def locked(store: Store, name: str) -> Iterator[None]:
    """Hold the lock of search ``name`` in ``store`` (``TrackingError`` when another driver has it)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(store.lock_path(name)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise TrackingError("another 'cpt-search' driver of this search is running", where=str(store.root),
                            key="name", value=name,
                            fix="wait for it to finish, or stop it (Ctrl-C) and rerun to resume") from None
    try:
        yield
    finally:
        lock.release()


def make_observers(store: Store, *, tracking: bool,
                   extra: Sequence[SearchObserver] = ()) -> tuple[ObserverGroup, Any]:
    """The observers of a session: the MLflow recorder unless ``tracking`` is off, then ``extra``.

    A tracking server is asked first (``TrackingError`` in seconds when it does not answer) and its
    recorder pauses and replays when the server goes away mid-search.

    Returns the group and the recorder (``None`` without tracking).
    """
    recorder = None
    observers: list[SearchObserver] = []
    if tracking:
        from cpt_search.tracking.connection import check_server, fail_fast, is_server_uri
        from cpt_search.tracking.recorder import MlflowRecorder

        recorder = MlflowRecorder(store)
        if is_server_uri(store.tracking_uri):
            # A server can be away at start (one line, in seconds) or stop mid-search (the search
            # goes on and MLflow catches up from the study: cpt_search.tracking.resilient).
            from cpt_search.tracking.resilient import ResilientRecorder

            check_server(store.tracking_uri)
            fail_fast()
            observers.append(ResilientRecorder(recorder))
        else:
            observers.append(recorder)
    observers.extend(extra)
    return ObserverGroup(observers), recorder


def open_session_study(storage: Any, name: str, directions: Sequence[str], sampler: Any,
                       identity: Mapping[str, Any], *, what: str = "search") -> tuple[Any, list[int]]:
    """``(study, interrupted trial numbers)`` of search ``name`` in an Optuna ``storage``."""
    from cpt_search.search.resume import check_identity, open_study, reconcile_interrupted

    study = open_study(storage, name, directions, sampler)
    check_identity(study, name, identity, what=what)
    return study, reconcile_interrupted(study)


@dataclass(frozen=True)
class SessionResult:
    """How a session left the study.

    Attributes:
        records: every trial, as the study has it now.
        candidates: the complete trials.
        state: the front of the complete trials.
        before, after: progress counts at the start and the end of the session.
        interrupted_end: trials found interrupted at the end (enqueued again for the next session).
        gave_up: the searcher stopped because the sampler proposed only infeasible schedules.
        observer_errors: observer calls that failed (logged; the study was used to repair them).
    """

    records: tuple[TrialRecord, ...]
    candidates: tuple[Candidate, ...]
    state: FrontState
    before: Progress
    after: Progress
    interrupted_end: tuple[int, ...]
    gave_up: bool
    observer_errors: int


def run_session(study: Any, info: SearchInfo, observers: ObserverGroup, *, target: int,
                higher_is_better: bool, make_searcher: Callable[[Any], Any],
                run: Callable[[Any, Any, int], None],
                on_progress: Callable[[ProgressEvent], None] | None = None,
                on_resumed: Callable[[list[TrialRecord]], None] | None = None,
                say: Callable[[str], None] = lambda message: None) -> SessionResult:
    """Tell the observers, run the remaining trials, and tidy up whatever happens.

    Args:
        study: the opened study.
        info: told to the observers first.
        observers: the session's observers.
        target: finished trials the search aims for.
        higher_is_better: the metric's direction.
        make_searcher: ``make_searcher(callback)``: the Ray searcher, given the callback whose
            ``infeasible``/``reused`` hooks it reports to.
        run: ``run(searcher, callback, remaining)``: runs the trials (Ray Tune).
        on_progress: called after every finished or skipped trial.
        on_resumed: called once with the records found at start (an earlier session's results).
        say: one-line status messages.
    """
    from cpt_search.search.callback import SearchCallback
    from cpt_search.search.results import load_records
    from cpt_search.search.resume import reconcile_interrupted
    from cpt_search.search.tracker import FrontTracker

    observers.search_started(info)
    records = load_records(study)
    observers.records_synced(records)
    if on_resumed is not None:
        on_resumed(records)
    tracker = FrontTracker(study, observers, higher_is_better=higher_is_better, total_trials=target,
                           on_progress=on_progress)
    tracker.refresh()
    before = progress_of(records)
    remaining = target - before.finished
    if before.finished:
        say(f"resuming {info.name}: {before.finished} of {target} trials already finished")
    gave_up = False
    try:
        if remaining > 0:
            callback = SearchCallback(observers, study, tracker)
            searcher = make_searcher(callback)
            run(searcher, callback, remaining)
            gave_up = bool(getattr(searcher, "gave_up", False))
    finally:
        # Reached on success, Ctrl-C and errors alike: tidy the study and the observers.
        interrupted_end = reconcile_interrupted(study)
        records = load_records(study)
        observers.records_synced(records)
        _, state = tracker.refresh()
        after = progress_of(records)
        cands = candidates(records)
        observers.search_finished(records, cands, state, complete=after.finished >= target)
    if observers.errors:
        log.warning("%d observer call(s) failed during the run; the study was used to repair the "
                    "records", observers.errors)
    return SessionResult(records=tuple(records), candidates=tuple(cands), state=state, before=before,
                         after=after, interrupted_end=tuple(interrupted_end), gave_up=gave_up,
                         observer_errors=observers.errors)
