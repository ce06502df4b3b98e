"""Recording that survives a tracking server going away mid-search, and catches up when it is back.

The Optuna study is a search's source of truth; MLflow is told what happened. When the tracking
server stops answering, :class:`ResilientRecorder` (wrapped around the
:class:`~cpt_search.tracking.recorder.MlflowRecorder` of an ``http(s)://`` store) does not let every
later call block the driver or fail with a traceback:

* the first call that fails while the server's ``/health`` does not answer pauses recording, with
  one warning line; the search goes on;
* while paused, a hook only asks ``/health``, at most every :data:`RETRY_S` seconds; what it was told
  is dropped, because the study holds it;
* when the server answers again, the recorder re-reads its runs from the server
  (:meth:`~cpt_search.tracking.recorder.MlflowRecorder.reindex`, which also deletes a run created
  twice because an answer was lost) and replays the study's records
  (:meth:`~cpt_search.tracking.recorder.MlflowRecorder.repair`): every finished trial's run with
  its final values, every interrupted one retired. The orchestrator calls ``records_synced`` after
  every finished trial and at the end, so the replay happens during the search, or at its end;
* when the search completes while recording is paused, the recorder keeps asking for up to
  :data:`FINAL_WAIT_S` seconds (a server being restarted is usually back within that), then gives
  up; ``cpt-search sync NAME`` replays the study later.

Not replayed: per-epoch curves of trials that ran while the server was away (their final values
are), and the parent's hypervolume at the finished-trial counts it missed (the next count is
logged). A failure while the server *does* answer is a real error and is raised (the
:class:`~cpt_search.observers.ObserverGroup` logs and counts it).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from cpt_search.observers import SearchInfo, SearchObserver
from cpt_search.records import FrontState, TrialRecord
from cpt_search.records.confirmed import SearchFront
from cpt_search.select import Candidate
from cpt_search.tracking.connection import server_answers
from cpt_search.tracking.recorder import MlflowRecorder

log = logging.getLogger(__name__)

RETRY_S = 5.0  # how often a paused recorder asks the server whether it is back
# How long a search that ends with recording paused waits for the server before it gives up (and
# says to run `cpt-search sync`): short trials can finish a whole search while a server restarts.
FINAL_WAIT_S = 30.0
FINAL_PROBE_S = 1.0  # how often it asks meanwhile


class ResilientRecorder(SearchObserver):
    """An :class:`MlflowRecorder` that pauses while its tracking server is away and replays after.

    Args:
        recorder: the recorder of an ``http(s)://`` store.
        clock: seconds, monotonic (tests pass their own).
        sleep: waits between the probes at the end of a search (tests pass their own).
    """

    def __init__(self, recorder: MlflowRecorder, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.recorder = recorder
        self.uri = recorder.store.tracking_uri
        self.clock = clock
        self.sleep = sleep
        self.paused_since: float | None = None
        self._next_probe = 0.0
        self.dropped = 0  # hook calls dropped while paused
        self.replays = 0  # times the study was replayed after an outage
        self._records: Sequence[TrialRecord] | None = None

    @property
    def paused(self) -> bool:
        """Whether recording is paused (the server did not answer)."""
        return self.paused_since is not None

    # ------------------------------------------------------------------ the guard

    def _call(self, hook: str, *args: Any, **kwargs: Any) -> None:
        if self.paused and not self._back():
            self.dropped += 1
            return
        try:
            getattr(self.recorder, hook)(*args, **kwargs)
        except Exception as error:
            why = server_answers(self.uri)
            if why is None:
                raise  # the server answers: a real error, not an outage
            self._pause(hook, why, error)

    def _pause(self, hook: str, why: str, error: Exception) -> None:
        self.paused_since = self.clock()
        self._next_probe = self.paused_since + RETRY_S
        self.dropped += 1
        log.warning("MLflow at %s stopped answering (%s) in %s: recording paused, the search goes on "
                    "(its Optuna study keeps every trial); replayed when the server is back, or run "
                    "'cpt-search sync %s'", self.uri, why, hook, self._name)
        log.debug("the failed MLflow call", exc_info=error)

    def _back(self) -> bool:
        """Ask the server (at most every RETRY_S) and replay the study when it answers again."""
        now = self.clock()
        if now < self._next_probe:
            return False
        self._next_probe = now + RETRY_S
        if server_answers(self.uri) is not None:
            return False
        outage_s = now - (self.paused_since or now)
        try:
            deleted = self.recorder.reindex()
            fixed = self.recorder.repair(self._records) if self._records is not None else 0
        except Exception as error:  # noqa: BLE001 - answered /health but not the API: still away
            log.debug("MLflow answered /health but the replay failed", exc_info=error)
            return False
        self.paused_since = None
        self.replays += 1
        log.warning("MLflow at %s answers again after %.0f s: replayed %d trial run(s) from the study "
                    "(%d duplicate run(s) removed, %d update(s) were dropped meanwhile)", self.uri,
                    outage_s, fixed, deleted, self.dropped)
        return True

    @property
    def _name(self) -> str:
        info = self.recorder.info
        return info.name if info is not None else "NAME"

    # ------------------------------------------------------------------ hooks

    def search_started(self, info: SearchInfo) -> None:
        self.recorder.search_started(info)  # unguarded: an unreachable server at start is an error

    def trial_started(self, record: TrialRecord) -> None:
        self._call("trial_started", record)

    def trial_epoch(self, number: int, report: Mapping[str, Any]) -> None:
        self._call("trial_epoch", number, report)

    def trial_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        self._call("trial_finished", record, traceback_text=traceback_text, error=error)

    def trial_skipped(self, record: TrialRecord) -> None:
        self._call("trial_skipped", record)

    def front_updated(self, state: FrontState, finished: int) -> None:
        self._call("front_updated", state, finished)

    def records_synced(self, records: Sequence[TrialRecord]) -> None:
        self._records = records  # the replay after an outage works from the latest records
        self._call("records_synced", records)

    def search_finished(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                        state: FrontState, *, complete: bool) -> None:
        if complete:
            self._wait_for_server()  # the last chance to replay in this session
        else:  # interrupted (Ctrl-C, a stop): one probe, no waiting; the resume replays the rest
            self._next_probe = 0.0
        self._call("search_finished", records, candidates, state, complete=complete)
        if self.paused:
            log.warning("MLflow at %s was still away when the search stopped: %d update(s) not recorded; "
                        "once it answers, run 'cpt-search sync %s' (with the same --store and "
                        "--tracking-uri) to record them", self.uri, self.dropped, self._name)

    def _wait_for_server(self) -> None:
        """While paused, ask every :data:`FINAL_PROBE_S` for at most :data:`FINAL_WAIT_S` seconds
        (a bounded number of probes, whatever the clock does); replays as soon as it answers."""
        if not self.paused:
            return
        log.warning("the search is done but MLflow at %s is still away: waiting up to %.0f s for it",
                    self.uri, FINAL_WAIT_S)
        deadline = self.clock() + FINAL_WAIT_S  # also bounds probes that each wait for a timeout
        for _ in range(int(FINAL_WAIT_S / FINAL_PROBE_S) + 1):
            self._next_probe = 0.0
            if self._back() or self.clock() >= deadline:
                return
            self.sleep(FINAL_PROBE_S)

    def report_written(self, files: Sequence[Path], metrics: Mapping[str, float | None]) -> None:
        self._call("report_written", files, metrics)

    def front_confirmed(self, records: Sequence[TrialRecord], front: SearchFront) -> None:
        self._call("front_confirmed", records, front)
