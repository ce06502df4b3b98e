"""One trial of a search in cpt_search's terms: its status, schedule, values and result (pure).

A :class:`TrialRecord` is what every part of the engine agrees on: the Optuna adapter
(:mod:`cpt_search.search.results`) builds them from the study, the observers
(:mod:`cpt_search.observers`, e.g. the MLflow recorder) record them, and fronts, progress counts
and exports are computed from them. Nothing here imports Optuna, Ray or MLflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from cpt_search.select import Candidate

# Trial statuses; cpt_search.search.results derives them from Optuna states and user attributes.
COMPLETE = "complete"
FAILED = "failed"
INFEASIBLE = "infeasible"
INTERRUPTED = "interrupted"
RUNNING = "running"
WAITING = "waiting"
STOPPED = "stopped"  # stopped at a rung by an early-stopping rule: counts as finished, never on a front
FINISHED_STATUSES = (COMPLETE, FAILED, STOPPED)


@dataclass(frozen=True)
class TrialRecord:
    """One Optuna trial of a search, in cpt_search's terms.

    Attributes:
        number: the Optuna trial number (stable across resumes; MLflow runs are keyed by it).
        status: one of ``complete``, ``failed``, ``stopped``, ``infeasible``, ``interrupted``,
            ``running``, ``waiting``.
        label, schedule, baseline: the schedule trained (or to be trained).
        values: ``(metric, bitops)`` told to Optuna for a complete trial (the validation metric).
        result: the summary the trial reported (empty unless complete).
        error: one line saying why a failed, stopped or interrupted trial did not complete.
        retry_of: the interrupted trial this one re-runs, if any.
        reused_from: the finished trial whose identical schedule's result this one reuses, if any.
        tags: extra labels an analysis gives its trials (``job_key``, ``row``, ``kind``, ``seed``).
        stopped_at_rung: the rung (1-based) an early-stopping rule stopped it at, if it did.
    """

    number: int
    status: str
    label: str
    schedule: Mapping[str, Any]
    baseline: bool
    values: tuple[float, float] | None = None
    relative_cost: float | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_of: int | None = None
    ray_trial_id: str | None = None
    reused_from: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    stopped_at_rung: int | None = None

    @property
    def test_metric(self) -> float | None:
        """The metric on the task's test split (mean over seeds) of a complete trial, ``None`` when
        the task has none; shown beside the objective, never used to select."""
        value = self.result.get("test_metric")
        return None if value is None else float(value)

    @property
    def finished(self) -> bool:
        """Trained to an end: complete, failed or stopped early (interrupted trials are re-run instead)."""
        return self.status in FINISHED_STATUSES

    def candidate(self) -> Candidate:
        """This complete trial as a :class:`~cpt_search.select.Candidate`."""
        assert self.status == COMPLETE and self.values is not None, self
        extra = {k: v for k, v in self.result.items() if isinstance(v, (int, float, str, bool))}
        return Candidate(trial=self.number, label=self.label, metric=float(self.values[0]),
                         bitops=float(self.values[1]),
                         relative_cost=float(self.result.get("relative_cost", self.relative_cost or math.nan)),
                         schedule=dict(self.schedule), baseline=self.baseline, extra=extra)


def candidates(records: list[TrialRecord]) -> list[Candidate]:
    """The complete (trained, feasible) trials as candidates for the front and for export."""
    return [r.candidate() for r in records if r.status == COMPLETE and r.values is not None
            and all(math.isfinite(v) for v in r.values)]
