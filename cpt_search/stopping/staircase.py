"""The ``staircase`` rule: stop a trial at a rung when cheaper trials already beat it (pure).

Why a new rule. Schmucker et al. 2021 ("Multi-objective Asynchronous Successive Halving", MOASHA)
stop a trial at a rung when it is not in the top ``1/reduction_factor`` of a non-dominated sorting of
the trials recorded at that rung, with every objective observed at the rung. Here one of the two
objectives, a schedule's training BitOPs, is exact before training starts (docs/method.md §2; the
relative cost orders trials as BitOPs do, since every quantized layer runs the same bits). So
dominance at a rung is not a sorting but a one-dimensional test: among the trials that cost no more,
is there one whose metric is surely better? The best such metric as a function of cost is a
non-decreasing step function, the *staircase*; a trial below the staircase at its own cost, by more
than the trial could still make up, cannot enter the front and is stopped. Unlike MOASHA there is no
fixed fraction to cut: a trial on or near the staircase always continues, however many trials
arrive, and a cheap trial is never stopped for being worse than an expensive one. (MOASHA's newest
rung ranking in Syne Tune treats an index ordering as a rank; docs/performance.md shows it stopping a
trial that dominates all others. This rule has no ranking to get wrong.)

The rule (docs/method.md §5), at rung ``r`` for trial ``j`` of cost ``c_j`` with rung metric ``m_j``
(metrics oriented so that higher is better):

* gains ``G = {final_k - m_k(r)}`` over the trials ``k`` that trained to the end and passed rung
  ``r``: what trials were seen to gain after the rung (an empirical learning-curve margin, in the
  spirit of the curve extrapolation of Domhan et al. 2015, without a curve model). With fewer than
  ``min_finished`` such trials nothing is stopped;
* ``j`` can at best end at ``m_j + max(G) + noise_margin`` (``noise_margin``: seed-to-seed spread of
  the final metric, in metric units);
* a reference trial ``i`` (not stopped, ``c_i <= c_j``) will at worst end at ``final_i`` when it
  finished, else at ``m_i(r) + min(G)``;
* ``j`` is stopped when its best end is below the best worst end of the cheaper trials: some trial
  that costs no more will then beat it, so ``j`` is dominated.

Enqueued baselines are protected (never stopped: they are the comparison points of every front).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cpt_search.stopping.rule import StopDecision, StoppingRule, TrialHistory

# Seed-to-seed spread of a final accuracy on the CPU tasks is about 0.5-1 point (Cora GCN, default
# budget; measured on this project's machines): 2 points keeps a trial unless it is clearly beaten.
DEFAULT_NOISE_MARGIN = 0.02
DEFAULT_RUNGS = (0.25, 0.5)
DEFAULT_MIN_FINISHED = 3
TIE_TOLERANCE = 1e-9


class StaircaseOptions(BaseModel):
    """The ``scheduler:`` keys of the ``staircase`` rule (besides ``name``).

    Attributes:
        rungs: fractions of a trial's training at which it may be stopped, increasing, in (0, 1).
        noise_margin: seed noise of the final metric, in metric units (accuracy 0.02 = 2 points).
        min_finished: trials trained to the end past a rung before anything is stopped at it.
        stop_baselines: also stop enqueued baselines (default: never; they are comparison points).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    rungs: list[float] = Field(default_factory=lambda: list(DEFAULT_RUNGS), min_length=1, max_length=16)
    noise_margin: float = Field(DEFAULT_NOISE_MARGIN, ge=0)
    min_finished: int = Field(DEFAULT_MIN_FINISHED, ge=1)
    stop_baselines: bool = False

    @field_validator("rungs")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        for frac in value:
            if not 0 < frac < 1:
                raise ValueError(f"every rung must hold 0 < rung < 1 (a fraction of training), but got {frac}")
        if any(b <= a for a, b in zip(value, value[1:])):
            raise ValueError(f"rungs must increase, but got {value}")
        return value


@dataclass
class _Trial:
    cost: float
    protected: bool
    rung_metrics: dict[float, float] = field(default_factory=dict)  # oriented: higher is better
    final: float | None = None
    stopped: bool = False


class StaircaseRule(StoppingRule):
    """Exact-cost staircase stopping (see the module docstring).

    Args:
        options: the rule's settings.
        higher_is_better: the metric's direction.
    """

    name = "staircase"

    def __init__(self, options: StaircaseOptions | None = None, *, higher_is_better: bool = True) -> None:
        self.options = options or StaircaseOptions.model_validate({})
        self.higher_is_better = higher_is_better
        self._trials: dict[int, _Trial] = {}

    @property
    def rung_fracs(self) -> tuple[float, ...]:
        return tuple(self.options.rungs)

    def _orient(self, metric: float) -> float:
        return float(metric) if self.higher_is_better else -float(metric)

    def _shown(self, oriented: float) -> float:
        return oriented if self.higher_is_better else -oriented

    # ------------------------------------------------------------------ events

    def started(self, trial: int, cost: float, *, protected: bool = False) -> None:
        # A retried or re-run trial number starts afresh.
        self._trials[trial] = _Trial(cost=float(cost), protected=protected and not self.options.stop_baselines)

    def at_rung(self, trial: int, rung: int, metric: float) -> StopDecision:
        frac = self.rung_fracs[rung - 1]
        me = self._trials[trial]
        me.rung_metrics[frac] = self._orient(metric)
        gains = self.gains(frac)
        keep = lambda why: StopDecision(False, rung, frac, why)  # noqa: E731
        if me.protected:
            return keep("a baseline: never stopped")
        if len(gains) < self.options.min_finished:
            return keep(f"{len(gains)} trial(s) finished past this rung, {self.options.min_finished} needed "
                        "to estimate the gain after it")
        best_end = me.rung_metrics[frac] + max(gains) + self.options.noise_margin
        beaten_by = self.staircase(frac, min(gains), exclude=trial).best_at(me.cost)
        # Ties keep the trial (equal points share a front); TIE_TOLERANCE absorbs float rounding.
        if beaten_by is None or best_end + TIE_TOLERANCE >= beaten_by[0]:
            return keep("on or near the staircase of cheaper trials")
        worst_end, other = beaten_by
        me.stopped = True
        return StopDecision(True, rung, frac, (
            f"metric {metric:.4g} can reach at best {self._shown(best_end):.4g} (largest gain seen after "
            f"this rung {max(gains):+.4g}, noise margin {self.options.noise_margin:g}); trial {other}, "
            f"which costs no more, ends at worst at {self._shown(worst_end):.4g}"))

    def finished(self, trial: int, metric: float) -> None:
        if trial in self._trials:
            self._trials[trial].final = self._orient(metric)

    def failed(self, trial: int) -> None:
        self._trials.pop(trial, None)

    # ------------------------------------------------------------------ state

    def gains(self, frac: float) -> list[float]:
        """What the trials that trained to the end gained after rung ``frac`` (oriented)."""
        return [t.final - t.rung_metrics[frac] for t in self._trials.values()
                if t.final is not None and frac in t.rung_metrics]

    def staircase(self, frac: float, min_gain: float, *, exclude: int | None = None) -> "Staircase":
        """The worst ends of the live references at rung ``frac``, as a staircase over cost."""
        points = []
        for number, t in self._trials.items():
            if number == exclude or t.stopped:
                continue
            if t.final is not None:
                points.append((t.cost, t.final, number))
            elif frac in t.rung_metrics:
                points.append((t.cost, t.rung_metrics[frac] + min_gain, number))
        return Staircase(points)

    def restore(self, histories: Sequence[TrialHistory]) -> None:
        for h in histories:
            self._trials[h.trial] = _Trial(
                cost=float(h.cost), protected=h.protected and not self.options.stop_baselines,
                rung_metrics={float(f): self._orient(m) for f, m in h.rung_metrics.items()},
                final=None if h.final_metric is None else self._orient(h.final_metric), stopped=h.stopped)

    def history(self, trial: int) -> TrialHistory | None:
        t = self._trials.get(trial)
        if t is None:
            return None
        return TrialHistory(trial=trial, cost=t.cost,
                            rung_metrics={f: self._shown(m) for f, m in t.rung_metrics.items()},
                            final_metric=None if t.final is None else self._shown(t.final),
                            stopped=t.stopped, protected=t.protected)


class Staircase:
    """The best value among points that cost no more than a given cost: a step function of cost.

    Args:
        points: ``(cost, value, trial)``; higher values are better.
    """

    def __init__(self, points: Sequence[tuple[float, float, int]]) -> None:
        self._costs: list[float] = []
        self._best: list[tuple[float, int]] = []
        best: tuple[float, int] | None = None
        for cost, value, trial in sorted(points, key=lambda p: (p[0], -p[1])):
            if best is None or value > best[0]:
                best = (value, trial)
            self._costs.append(cost)
            self._best.append(best)

    def best_at(self, cost: float) -> tuple[float, int] | None:
        """``(value, trial)`` of the best point costing at most ``cost`` (``None``: none does)."""
        index = bisect.bisect_right(self._costs, cost)
        return self._best[index - 1] if index else None
