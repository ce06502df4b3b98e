"""What every stopping rule is: rungs at fractions of training and a decision per rung (pure).

A search trains each trial to the end unless a stopping rule says otherwise. A rule sees, for every
trial, its exact training cost (known before training: docs/method.md §2), its metric each time it
passes a rung (a fraction of its training), and its final metric when it trains to the end; at a rung
it answers continue or stop. The Ray Tune adapter (:mod:`cpt_search.search.scheduler`) feeds it;
nothing here imports Ray or Optuna, so the rule is tested on its own.

Trials are keyed by their Optuna trial number (stable across resumed sessions). Metrics are given in
the task's own direction; a rule orients them itself (``higher_is_better``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence


@dataclass(frozen=True)
class StopDecision:
    """A rule's answer at a rung.

    Attributes:
        stop: whether the trial is stopped here.
        rung: the rung, 1-based (the first rung is rung 1).
        rung_frac: the fraction of training the rung is at.
        reason: one line saying why (stops and continues alike, for logs).
    """

    stop: bool
    rung: int
    rung_frac: float
    reason: str

    def describe(self) -> str:
        """``stopped at rung 1 (25 % of training): ...``, the text progress lines and MLflow show."""
        return f"stopped at rung {self.rung} ({self.rung_frac:.0%} of training): {self.reason}"


@dataclass(frozen=True)
class TrialHistory:
    """What a stopping rule knows of one trial, e.g. rebuilt from a resumed study.

    Attributes:
        trial: the Optuna trial number.
        cost: its exact relative training cost (any scale that orders trials as BitOPs do).
        rung_metrics: metric at each rung it passed, keyed by the rung's fraction of training.
        final_metric: its final metric when it trained to the end (``None``: running or stopped).
        stopped: whether a rule stopped it.
        protected: never stopped (an enqueued baseline).
    """

    trial: int
    cost: float
    rung_metrics: Mapping[float, float]
    final_metric: float | None = None
    stopped: bool = False
    protected: bool = False


class StoppingRule:
    """The no-op rule (``fifo``): no rungs, every trial trains to the end.

    A rule is told :meth:`started` once per trial, :meth:`at_rung` at each rung it passes (in order),
    and :meth:`finished` when it trained to the end (a stopped or failed trial is never finished).
    """

    name = "fifo"

    @property
    def rung_fracs(self) -> tuple[float, ...]:
        """Fractions of training at which :meth:`at_rung` is asked, increasing, each in (0, 1)."""
        return ()

    def started(self, trial: int, cost: float, *, protected: bool = False) -> None:
        """Trial ``trial`` of exact relative cost ``cost`` starts (``protected``: never stop it)."""

    def at_rung(self, trial: int, rung: int, metric: float) -> StopDecision:
        """Trial ``trial`` passed rung ``rung`` (1-based) with ``metric``: continue or stop."""
        return StopDecision(False, rung, self.rung_fracs[rung - 1], "the fifo rule never stops")

    def finished(self, trial: int, metric: float) -> None:
        """Trial ``trial`` trained to the end with final ``metric``."""

    def failed(self, trial: int) -> None:
        """Trial ``trial`` failed or was cut off: it neither finished nor was stopped."""

    def restore(self, histories: Sequence[TrialHistory]) -> None:
        """Take the state of earlier sessions (a resumed search)."""

    def history(self, trial: int) -> TrialHistory | None:
        """What the rule knows of ``trial`` (``None``: nothing)."""
        return None


def rungs_passed(rung_fracs: Sequence[float], progress_frac: float) -> int:
    """How many rungs a trial at ``progress_frac`` of its training has passed."""
    return sum(1 for frac in rung_fracs if progress_frac + 1e-9 >= frac)
