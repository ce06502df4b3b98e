"""Ray Tune's ``OptunaSearch``, taught four things a schedule search needs.

1. **Define-by-run over schedules**: the space is :func:`cpt_search.search.suggest.suggest_schedule`;
   each suggestion carries, under ``config["cpt"]``, the schedule, its label, the Optuna trial number
   (MLflow runs are keyed by it) and whether it is a baseline. Without a space (an analysis) every
   trial is one enqueued with a fixed schedule, its seeds and tags in its user attrs.
2. **Infeasible schedules are never trained**: a schedule over the space's cost constraint is told to
   Optuna at once (COMPLETE, with the constraint violation set by ``Trial.set_constraint``, which
   Optuna 5's samplers read from the trial, a worst-case metric and its estimated BitOPs; user attr
   ``infeasible``), reported through
   ``on_infeasible``, and the next suggestion is asked for. Constraint-aware samplers (NSGA-II, TPE,
   GP) rank such trials by their violation only; every front and export ignores them.
3. **An identical schedule is never trained twice**: a suggestion equal to a schedule that already
   finished (the sampler proposes repeats, and many parameter sets collapse to the same static
   schedule) is told that trial's values at once (user attr ``reused_from``), reported through
   ``on_reused``, and the next suggestion is asked for. Training is deterministic for a schedule and
   its seeds (the reuse key holds both), so the result is the one a second training would give.
4. **Failures are FAIL, never bogus values**: a trial whose final report is a failure marker (the
   trainable caught an exception) or that errored in Ray is told FAIL with the reason in user attr
   ``error``; a complete one is told ``(metric, bitops)`` and keeps its summary in user attr ``result``.
5. **Stopped early is PRUNED, never truncated values**: a trial the search's early-stopping rule
   stopped at a rung (:mod:`cpt_search.search.scheduler`) is told PRUNED with user attrs
   ``stopped_at_rung`` and ``rung_metrics``, and no intermediate values: Optuna 5's multi-objective
   TPE ranks a pruned trial by ``study.direction`` when it has intermediate values, which raises on a
   multi-objective study (optuna issue 5260); without them TPE puts pruned trials in its "above"
   group unless fewer than about a tenth of the trials are complete, and NSGA-II and GP read
   complete trials only.

The Optuna study lives in an RDB storage, which is the searcher's state: ``save``/``restore`` (Ray's
searcher checkpoints) are deliberately empty, and a resumed search starts a fresh searcher on the
same study (see :mod:`cpt_search.search.resume`).
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

from optuna.trial import TrialState
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from cpt_search.costs import summarize_schedule
from cpt_search.disk_full import is_disk_full
from cpt_search.piecewise import schedule_from_any_dict
from cpt_search.records.confirmed import schedule_key

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

BITOPS_KEY = "bitops"
NOMINAL_STEPS = 10_000  # relative cost of a schedule is within rounding of the real one at this length
# Keys of the trainable's final report kept in the Optuna user attr "result" (and logged to MLflow).
SUMMARY_KEYS = (
    "metric", "metric_std", "accuracy", "bitops", "paper_bitops", "fp32_bitops", "relative_cost",
    "relative_cost_vs_8_8", "mean_bits", "mean_grad_bits", "total_steps", "epochs", "trial_seconds",
    "seeds", "seconds", "device", "quant_kernels", "seed_metrics", "final_epoch", "test_metric",
    "test_metric_std",
    # where the trial's time went (cpt_search.search.trainable.overhead_report)
    "overhead_import_s", "overhead_data_s", "overhead_build_s", "train_s", "trial_entered_unix",
    "final_reported_unix", "worker_pid", "worker_started_unix", "ray_node_id",
)


class ScheduleSearch(OptunaSearch):
    """Multi-objective ``(metric, bitops)`` Optuna search over precision schedules.

    Args:
        space: the loaded :class:`cpt_search.space.SearchSpace`; ``None`` for an analysis, whose
            trials are all enqueued with fixed schedules.
        metric_name: the task's metric (the first objective's key in the trainable's final report).
        higher_is_better: the metric's direction.
        sampler: an Optuna sampler (``make_sampler(space)``).
        storage: the Optuna storage object holding the study.
        study_name: the study (= search) name.
        on_infeasible: called as ``on_infeasible(trial_number, info, relative_cost)`` for each skipped
            infeasible schedule (``info`` is the suggestion's ``config["cpt"]``).
        max_infeasible_in_a_row: give up suggesting after this many consecutive infeasible samples.
        on_reused: called as ``on_reused(trial_number)`` for each suggestion answered with an
            identical finished schedule's result.
        target_finished: stop suggesting once this many trials of the study have finished or are
            running (reused trials finish without a Ray trial, so Ray's sample count alone would
            overshoot the search's size).
        stopping: the session's :class:`~cpt_search.search.scheduler.StoppingScheduler` (``None``:
            FIFO, every trial trains to the end), read when a trial ends.
    """

    def __init__(self, space: Any, *, metric_name: str, higher_is_better: bool, sampler: Any,
                 storage: Any, study_name: str,
                 on_infeasible: Callable[[int, dict, float], None] | None = None,
                 max_infeasible_in_a_row: int = 500,
                 on_reused: Callable[[int], None] | None = None,
                 target_finished: int | None = None, stopping: Any = None) -> None:
        self._cpt_space = space
        self._metric_name = metric_name
        self._higher_is_better = higher_is_better
        self._on_infeasible = on_infeasible
        self._max_infeasible = max_infeasible_in_a_row
        self._fp32_bitops: float | None = None
        self.infeasible_count = 0
        self._on_reused = on_reused
        self._target_finished = target_finished
        self._stopping = stopping
        self._finished_by_schedule: dict[str, tuple[int, list[float], dict]] | None = None
        self.reused_count = 0
        self.gave_up = False
        self.store_error: BaseException | None = None  # the study could not be written (disk full)
        super().__init__(space=self._define, metric=[metric_name, BITOPS_KEY],
                         mode=["max" if higher_is_better else "min", "min"], sampler=sampler,
                         storage=storage, study_name=study_name)

    # ------------------------------------------------------------------ define-by-run

    def _define(self, trial: Any) -> dict[str, Any]:
        from cpt_search.search.suggest import suggest_schedule

        if self._cpt_space is not None:
            schedule = suggest_schedule(self._cpt_space, trial)  # sets schedule/label/feasible attrs
            attrs = trial.user_attrs  # read after the suggestion set them
            schedule_dict, label = schedule.to_dict(), str(attrs.get("label") or schedule.label)
        else:  # an analysis: every trial was enqueued with its schedule
            attrs = trial.user_attrs
            schedule_dict, label = dict(attrs["schedule"]), str(attrs["label"])
        baseline = bool(attrs.get("baseline", False))
        return {"cpt": {
            "schedule": schedule_dict,
            "label": label,
            "seeds": attrs.get("seeds"),
            "tags": attrs.get("tags") or {},
            "optuna_trial_number": int(trial.number),
            "baseline": baseline,
            "retry_of": attrs.get("retry_of"),
            # Baselines are comparison points: trained even when over the constraint (their
            # "constraint" attr still marks them for the sampler).
            "feasible": baseline or bool(attrs.get("feasible", True)),
        }}

    @property
    def _study(self) -> optuna.Study:
        # OptunaSearch.__init__ sets _ot_study to None (its inferred type) and its setup to the study,
        # which exists before any trial is suggested or told.
        return cast("optuna.Study", self._ot_study)

    # ------------------------------------------------------------------ Searcher API

    # Ray annotates Searcher.suggest as Optional[Dict], yet documents and handles the str
    # Searcher.FINISHED as a return value (ray.tune.search.Searcher.suggest): its annotation is narrower
    # than its contract.
    def suggest(self, trial_id: str) -> dict | str | None:  # type: ignore[override]
        """The next feasible schedule's config; infeasible ones are told and skipped. Once the
        study cannot be written (a full disk), nothing more: see :attr:`store_error`."""
        if self.store_error is not None:
            return Searcher.FINISHED
        try:
            return self._suggest(trial_id)
        except Exception as error:
            if not is_disk_full(error):
                raise
            self._store_failed(error)
            return Searcher.FINISHED

    def _store_failed(self, error: BaseException) -> None:
        # Telling Tune would only log the error and ask again, trial after trial: the searcher
        # keeps it, stops suggesting, and the orchestrator stops the run and reports it.
        self.store_error = error
        log.debug("the Optuna storage cannot be written", exc_info=error)

    def _suggest(self, trial_id: str) -> dict | str | None:
        for _ in range(self._max_infeasible):
            if self._target_reached():
                return Searcher.FINISHED
            config = super().suggest(trial_id)
            if not isinstance(config, dict) or "cpt" not in config:
                return config
            ot_trial = self._ot_trials[trial_id]
            if not config["cpt"]["feasible"]:
                self._skip_infeasible(self._ot_trials.pop(trial_id), config["cpt"])
                continue
            twin = self._finished_twin(ot_trial.user_attrs)
            if twin is not None:
                self._reuse(self._ot_trials.pop(trial_id), twin)
                continue
            ot_trial.set_user_attr("ray_trial_id", trial_id)
            return config
        self.gave_up = True
        log.warning("stopping: the sampler proposed %d infeasible schedules in a row; widen the space "
                    "or loosen constraints.max_relative_cost", self._max_infeasible)
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Multi-objective Optuna takes no intermediate values; nothing to do."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Tell Optuna ``(metric, bitops)`` for a complete trial, FAIL (with the reason) otherwise.

        When the study cannot be written (a full disk) the trial stays RUNNING in it: the resume
        marks it interrupted and runs its schedule again."""
        if self.store_error is not None:
            return
        try:
            self._on_trial_complete(trial_id, result, error)
        except Exception as failure:
            if not is_disk_full(failure):
                raise
            self._store_failed(failure)

    def _on_trial_complete(self, trial_id: str, result: dict | None, error: bool) -> None:
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        ot_trial = self._ot_trials[trial_id]
        result = result or {}
        rung_attrs = {} if self._stopping is None else self._stopping.trial_attrs(int(ot_trial.number))
        for key, value in rung_attrs.items():
            ot_trial.set_user_attr(key, value)
        if "stopped_at_rung" in rung_attrs and not error:
            self._study.tell(ot_trial, state=TrialState.PRUNED)
            self._completed_trials.add(trial_id)
            return
        values = None
        if not error and not result.get("trial_failed"):
            raw = [result.get(self._metric_name), result.get(BITOPS_KEY)]
            finite = [float(v) for v in raw if isinstance(v, (int, float)) and math.isfinite(v)]
            if len(finite) == len(raw):
                values = finite
        if values is None:
            reason = result.get("error") or (
                "the trial's Ray worker raised or died (see on_trial_error / the Ray trial log)"
                if error else "the trial ended without a final result")
            ot_trial.set_user_attr("error", str(reason)[:1000])
            ot_trial.set_user_attr("error_type", str(result.get("error_type", "RayError" if error else "NoResult")))
            self._study.tell(ot_trial, state=TrialState.FAIL)
        else:
            summary = {k: _plain(result[k]) for k in SUMMARY_KEYS if k in result}
            ot_trial.set_user_attr("result", summary)
            if result.get("fp32_bitops"):
                self._fp32_bitops = float(result["fp32_bitops"])
            self._study.tell(ot_trial, values)
            self._remember(_reuse_key(ot_trial.user_attrs), ot_trial.number, values, summary)
        self._completed_trials.add(trial_id)

    def save(self, checkpoint_path: str) -> None:
        """The study is in its storage; Ray's searcher checkpoint only notes that."""
        with open(checkpoint_path, "w", encoding="utf-8") as handle:
            json.dump({"state": "in the Optuna storage", "study": self._study_name}, handle)

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore: a resumed search reads the Optuna storage."""

    # ------------------------------------------------------------------ repeated schedules

    def _finished_twin(self, attrs: Mapping[str, Any]) -> tuple[int, list[float], dict] | None:
        """``(trial number, values, result)`` of a finished trial that trained the same schedule
        on the same seeds as the trial with user attrs ``attrs``."""
        if self._finished_by_schedule is None:  # first call: the study's earlier sessions too
            self._finished_by_schedule = {}
            for trial in self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                done = trial.user_attrs
                if not done.get("infeasible") and done.get("result") and trial.values:
                    self._remember(_reuse_key(done), trial.number, list(trial.values), done["result"])
        key = _reuse_key(attrs)
        return None if key is None else self._finished_by_schedule.get(key)

    def _remember(self, key: str | None, number: int, values: list[float], result: dict) -> None:
        if key is not None and self._finished_by_schedule is not None:
            self._finished_by_schedule.setdefault(key, (number, values, result))

    def _reuse(self, ot_trial: Any, twin: tuple[int, list[float], dict]) -> None:
        number, values, result = twin
        ot_trial.set_user_attr("result", result)
        ot_trial.set_user_attr("reused_from", number)
        self._study.tell(ot_trial, list(values))
        self.reused_count += 1
        log.info("trial %d repeats the schedule of trial %d: reused its result", ot_trial.number, number)
        if self._on_reused is not None:
            self._on_reused(int(ot_trial.number))

    def _target_reached(self) -> bool:
        """Whether the finished trials plus the ones running now make the search's size."""
        if self._target_finished is None:
            return False
        from cpt_search.search.results import record_from_trial

        finished = sum(1 for t in self._study.get_trials(deepcopy=False)
                       if record_from_trial(t).finished)
        running = sum(1 for trial_id in self._ot_trials if trial_id not in self._completed_trials)
        return finished + running >= self._target_finished

    # ------------------------------------------------------------------ infeasible schedules

    def _skip_infeasible(self, ot_trial: Any, info: Mapping[str, Any]) -> None:
        relative = float(ot_trial.user_attrs.get("relative_cost", math.nan))
        if not math.isfinite(relative):
            schedule = schedule_from_any_dict(info["schedule"])
            relative = summarize_schedule(schedule, NOMINAL_STEPS).relative_cost
        # BitOPs estimate: the schedule's relative cost times the task's FP32 training BitOPs once a
        # trained trial told us that figure (until then the relative cost itself; only the
        # constraint violation ranks infeasible trials, so the scale does not steer sampling).
        bitops = relative * (self._fp32_bitops or self._known_fp32_bitops() or 1.0)
        worst_metric = 0.0 if self._higher_is_better else 1e9
        ot_trial.set_user_attr("infeasible", True)
        self._study.tell(ot_trial, [worst_metric, bitops])
        self.infeasible_count += 1
        log.info("skipped infeasible schedule %s (trial %d)", info["label"], ot_trial.number)
        if self._on_infeasible is not None:
            self._on_infeasible(int(ot_trial.number), dict(info), float(relative))

    def _known_fp32_bitops(self) -> float | None:
        for trial in self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            value = (trial.user_attrs.get("result") or {}).get("fp32_bitops")
            if value:
                self._fp32_bitops = float(value)
                return self._fp32_bitops
        return None


def _reuse_key(attrs: Mapping[str, Any]) -> str | None:
    """What a training depends on, from a trial's user attrs: the canonical schedule (static 5/8
    sampled with two different profiles is one schedule) and the trial's own seeds (``None``: the
    search's seeds), as sorted JSON; ``None`` without a schedule."""
    schedule = attrs.get("schedule")
    if not schedule:
        return None
    return json.dumps({"schedule": schedule_key(schedule), "seeds": attrs.get("seeds")}, sort_keys=True)


def _plain(value: Any) -> Any:
    """JSON-safe scalars for Optuna user attrs."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
