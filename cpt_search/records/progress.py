"""How far a search is: counts of trials by status, and the event emitted after every finished trial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from cpt_search.records.trial import COMPLETE, FAILED, INFEASIBLE, INTERRUPTED, STOPPED, WAITING, TrialRecord


@dataclass(frozen=True)
class ProgressEvent:
    """One finished (or skipped) trial and the state of the front after it.

    Attributes:
        finished: trained trials finished so far (complete + failed + stopped), this session and before.
        total: the search's ``num_trials``.
        trial: the Optuna trial number.
        label: the schedule's short name.
        status: ``complete``, ``failed``, ``stopped`` (at a rung, by an early-stopping rule; ``error``
            says ``stopped at rung r ...``), ``infeasible``, or ``reused`` (complete, with the result
            of an identical schedule that finished earlier).
        metric: the task metric (``None`` unless complete).
        relative_cost: the schedule's cost relative to FP32 (paper accounting).
        seconds: the trial's wall time (``None`` when not trained).
        front_size: trials on the front now.
        hypervolume: the front's hypervolume now (see :mod:`cpt_search.records.front`).
        error: why it failed or was skipped.
    """

    finished: int
    total: int
    trial: int
    label: str
    status: str
    metric: float | None
    relative_cost: float | None
    seconds: float | None
    front_size: int
    hypervolume: float
    error: str | None = None


@dataclass(frozen=True)
class Progress:
    """How far a search is, counted from its records.

    Attributes:
        complete, failed: finished trained trials (they count towards ``num_trials``).
        stopped: trials stopped at a rung by an early-stopping rule (they count too).
        infeasible: schedules skipped for their cost (never trained; do not count).
        interrupted: trials cut off and re-enqueued (do not count).
        waiting: enqueued, not started (baselines, retries).
    """

    complete: int
    failed: int
    infeasible: int
    interrupted: int
    waiting: int
    stopped: int = 0

    @property
    def finished(self) -> int:
        """Complete + failed + stopped."""
        return self.complete + self.failed + self.stopped


def progress_of(records: Sequence[TrialRecord]) -> Progress:
    """Count the records by status."""
    count = lambda status: sum(1 for r in records if r.status == status)  # noqa: E731
    return Progress(complete=count(COMPLETE), failed=count(FAILED), infeasible=count(INFEASIBLE),
                    interrupted=count(INTERRUPTED), waiting=count(WAITING), stopped=count(STOPPED))
