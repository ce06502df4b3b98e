"""What a running search tells its caller after every finished trial (the CLI prints it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """One finished (or skipped) trial and the state of the front after it.

    Attributes:
        finished: trained trials finished so far (complete + failed), this session and before.
        total: the search's ``num_trials``.
        trial: the Optuna trial number.
        label: the schedule's short name.
        status: ``complete``, ``failed``, ``infeasible``, or ``reused`` (complete, with the result of
            an identical schedule that finished earlier).
        metric: the task metric (``None`` unless complete).
        relative_cost: the schedule's cost relative to FP32 (paper accounting).
        seconds: the trial's wall time (``None`` when not trained).
        front_size: trials on the front now.
        hypervolume: the front's hypervolume now (see :mod:`cpt_search.search.front`).
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
