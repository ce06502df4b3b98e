"""A stopping rule (:mod:`cpt_search.stopping`) as a Ray Tune ``TrialScheduler`` (driver only).

Ray's own schedulers (ASHA, HyperBand, median stopping, PBT) take one metric and one mode; a
search has two objectives, and an ASHA on the metric alone tells Optuna truncated values as if
complete. :class:`StoppingScheduler` is FIFO (trials start in the order the searcher suggests them)
with a rule's decisions at rungs:

* when a trial is added, the rule is told its exact relative training cost, computed from the
  schedule in its config (docs/method.md §2; the same number orders trials as their BitOPs do);
* on each ``kind="epoch"`` report the trial's ``progress_frac`` (the trainable's fraction of the
  trial trained) is compared with the rule's rungs; at each rung passed the rule sees
  ``epoch_metric`` and answers; a stop is ``TrialScheduler.STOP``, kept in :attr:`decisions`;
* a trial's final report tells the rule its final metric (the learning-curve gains it estimates
  come from these); a failed or removed trial is forgotten.

Ray calls the scheduler's ``on_trial_complete`` before the searcher's, so
:class:`~cpt_search.search.searcher.ScheduleSearch` reads the decision and the rung metrics from
here when it tells Optuna: PRUNED with user attrs ``stopped_at_rung`` and ``rung_metrics`` (never
COMPLETE with truncated values). :func:`histories_from_study` rebuilds the rule's state from those
attrs when a search resumes.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from cpt_search.stopping import StopDecision, StoppingRule, TrialHistory, rungs_passed

log = logging.getLogger(__name__)

RUNG_METRICS_ATTR = "rung_metrics"
STOPPED_ATTR = "stopped_at_rung"


def schedule_cost(cost_steps: int) -> Callable[[Mapping[str, Any]], float]:
    """``cost(schedule_dict)``: the schedule's exact relative training cost over ``cost_steps`` steps."""
    from cpt_search.costs import summarize_schedule
    from cpt_search.piecewise import schedule_from_any_dict

    def cost(schedule: Mapping[str, Any]) -> float:
        return float(summarize_schedule(schedule_from_any_dict(dict(schedule)), cost_steps).relative_cost)

    return cost


class StoppingScheduler(FIFOScheduler):
    """FIFO with a :class:`~cpt_search.stopping.StoppingRule` deciding at rungs.

    Args:
        rule: the session's rule (its state restored from the study on a resume).
        cost_of: the exact relative cost of a schedule dict (:func:`schedule_cost`).
        metric_name: the key of the final objective in the trainable's final report.
    """

    # A decision must see each report before the trial goes on: no buffered training results.
    _supports_buffered_results = False

    def __init__(self, rule: StoppingRule, *, cost_of: Callable[[Mapping[str, Any]], float],
                 metric_name: str) -> None:
        super().__init__()
        self.rule = rule
        self.cost_of = cost_of
        self.metric_name = metric_name
        self.decisions: dict[int, StopDecision] = {}  # Optuna trial number -> its stop
        self._rungs_seen: dict[int, int] = {}

    # ------------------------------------------------------------------ Ray's TrialScheduler API

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        cpt = _cpt(trial)
        if cpt is None or not self.rule.rung_fracs:
            return
        number = cpt["optuna_trial_number"]
        self.rule.started(number, self.cost_of(cpt["schedule"]), protected=bool(cpt.get("baseline")))
        self._rungs_seen[number] = 0
        self.decisions.pop(number, None)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        cpt = _cpt(trial)
        if cpt is None or result.get("kind") != "epoch" or not self.rule.rung_fracs:
            return TrialScheduler.CONTINUE
        number = cpt["optuna_trial_number"]
        progress = float(result.get("progress_frac", 0.0))
        metric = result.get("epoch_metric")
        if progress >= 1.0 or not isinstance(metric, (int, float)) or not math.isfinite(metric):
            return TrialScheduler.CONTINUE  # the training is done (nothing to save) or diverged
        seen = self._rungs_seen.get(number, 0)
        for rung in range(seen + 1, rungs_passed(self.rule.rung_fracs, progress) + 1):
            self._rungs_seen[number] = rung
            decision = self.rule.at_rung(number, rung, float(metric))
            if decision.stop:
                self.decisions[number] = decision
                log.info("trial %d %s", number, decision.describe())
                return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        cpt = _cpt(trial)
        if cpt is None or cpt["optuna_trial_number"] in self.decisions:
            return
        number = cpt["optuna_trial_number"]
        final = (result or {}).get(self.metric_name)
        if (result or {}).get("kind") == "final" and isinstance(final, (int, float)) and math.isfinite(final):
            self.rule.finished(number, float(final))
        else:
            self.rule.failed(number)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        cpt = _cpt(trial)
        if cpt is not None:
            self.rule.failed(cpt["optuna_trial_number"])

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self.on_trial_error(tune_controller, trial)

    # ------------------------------------------------------------------ for the searcher

    def trial_attrs(self, number: int) -> dict[str, Any]:
        """The Optuna user attrs that record trial ``number``'s rung state (empty: none)."""
        attrs: dict[str, Any] = {}
        history = self.rule.history(number)
        if history is not None and history.rung_metrics:
            attrs[RUNG_METRICS_ATTR] = {repr(float(f)): float(m) for f, m in history.rung_metrics.items()}
        decision = self.decisions.get(number)
        if decision is not None:
            attrs[STOPPED_ATTR] = {"rung": decision.rung, "rung_frac": decision.rung_frac,
                                   "reason": decision.reason}
        return attrs


def histories_from_study(study: Any, cost_of: Callable[[Mapping[str, Any]], float]) -> list[TrialHistory]:
    """What earlier sessions of a search told a stopping rule, from the trials' user attrs.

    A trial with rung metrics is a history: finished with its final metric when COMPLETE (and
    trained, not reused or infeasible), stopped when PRUNED by a rule; interrupted trials (FAIL)
    are left out, their retries train again.
    """
    from optuna.trial import TrialState

    histories = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        attrs = trial.user_attrs
        rungs = attrs.get(RUNG_METRICS_ATTR)
        if not rungs or not attrs.get("schedule"):
            continue
        final = None
        if trial.state == TrialState.COMPLETE and not attrs.get("infeasible") and trial.values:
            final = float(trial.values[0])
        histories.append(TrialHistory(
            trial=trial.number, cost=cost_of(attrs["schedule"]),
            rung_metrics={float(f): float(m) for f, m in rungs.items()}, final_metric=final,
            stopped=trial.state == TrialState.PRUNED and bool(attrs.get(STOPPED_ATTR)),
            protected=bool(attrs.get("baseline"))))
    return histories


def _cpt(trial: Any) -> dict | None:
    info = (trial.config or {}).get("cpt")
    return info if isinstance(info, dict) and "optuna_trial_number" in info else None
