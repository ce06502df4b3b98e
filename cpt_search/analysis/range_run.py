"""CPT's precision range test, the training half: a staircase of precisions, loss per step.

The test is the first steps of the task's real training (:func:`cpt_search.training.run_trial`:
the same data, model, quantization, optimizer and learning-rate schedule over the budget's full
length, as CPT runs it during the first epochs of training), with one
:class:`~cpt_search.training.hooks.TrialHook`, :class:`RangeTestHook`, that sets the staircase's bits
before every step, keeps every step's training loss, evaluates the model at the end of every stage
and ends the training when the staircase is done.

The rule scores the training loss, as CPT's test does; the validation metric (and the test metric,
where the task has a test split) at each stage's end is reported beside it, evaluated at that stage's
bits, so a reader sees what a precision does to the held-out metric without it choosing anything.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from cpt_search.analysis.range_test import (
    DEFAULT_HEAD_FRAC,
    DEFAULT_MIN_FRAC,
    DEFAULT_Z,
    MIN_STEPS_PER_BITS,
    RangeTestScore,
    score_stages,
)
from cpt_search.bits import check_bits
from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_STEPS_PER_BITS
from cpt_search.piecewise import staircase
from cpt_search.training.hooks import TrainContext, TrialHook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RangeTestRun:
    """A finished range test.

    Attributes:
        task, budget, seed: what was trained.
        bits_list, steps_per_bits, grad_bits: the staircase.
        losses: training loss of every step (NaN after a divergence).
        bits: forward bits every step actually used (recorded by the quantized layers).
        metric_name, test_metric_name: the task's validation and test metrics (``None``: no test split).
        stage_metrics, stage_test_metrics: each at the end of every stage, evaluated at the stage's
            bits (``None`` for a stage not reached, or without a test split).
        score: per-stage scores and the suggested ``min_bits``.
        seconds: wall time.
    """

    task: str
    budget: str
    seed: int
    bits_list: tuple[int, ...]
    steps_per_bits: int
    grad_bits: int
    losses: np.ndarray
    bits: np.ndarray
    score: RangeTestScore
    seconds: float
    metric_name: str = "metric"
    test_metric_name: str | None = None
    stage_metrics: tuple[float | None, ...] = ()
    stage_test_metrics: tuple[float | None, ...] = ()

    def to_json(self) -> dict:
        """Plain document: settings, the suggestion, the stages and the per-step curve."""
        return {
            "task": self.task, "budget": self.budget, "seed": self.seed,
            "bits_list": list(self.bits_list), "steps_per_bits": self.steps_per_bits,
            "grad_bits": self.grad_bits, "suggested_min_bits": self.score.suggested_min_bits,
            "rule": self.score.rule,
            "metric_name": self.metric_name, "test_metric_name": self.test_metric_name,
            "stages": [{**s.to_dict(), "metric": _finite(m), "test_metric": _finite(t)}
                       for s, m, t in zip(self.score.stages, _padded(self.stage_metrics, self.score.stages),
                                          _padded(self.stage_test_metrics, self.score.stages))],
            "losses": [_finite(v) for v in self.losses],
            "seconds": self.seconds,
        }


def check_range(start_bits: int, max_bits: int, steps_per_bits: int) -> list[int]:
    """``start_bits .. max_bits`` after checking the flags; errors name the flag."""
    for flag, value in (("--start-bits", start_bits), ("--max-bits", max_bits)):
        check_bits(flag, value)
    if start_bits >= max_bits:
        raise ConfigError(f"start_bits < max_bits must hold, but got (start_bits={start_bits}, "
                          f"max_bits={max_bits})", key="--start-bits", value=start_bits,
                          fix="start low, e.g. --start-bits 2 --max-bits 8")
    if isinstance(steps_per_bits, bool) or not isinstance(steps_per_bits, int) \
            or steps_per_bits < MIN_STEPS_PER_BITS:
        raise ConfigError(f"steps_per_bits >= {MIN_STEPS_PER_BITS} must hold", key="--steps-per-bits",
                          value=steps_per_bits,
                          fix=f"train at least {MIN_STEPS_PER_BITS} steps per precision "
                              "(a few dozen to hundreds give a clear signal)")
    if steps_per_bits > MAX_STEPS_PER_BITS:  # one loss is kept per step: bound the allocation
        raise ConfigError(f"steps_per_bits <= {MAX_STEPS_PER_BITS} must hold", key="--steps-per-bits",
                          value=steps_per_bits, fix="a few hundred steps per precision give a clear signal")
    return list(range(start_bits, max_bits + 1))


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _padded(values: Sequence[float | None], stages: Sequence[Any]) -> list[float | None]:
    """One value per stage: the stages after a divergence were never evaluated."""
    return [*values, *([None] * (len(stages) - len(values)))][:len(stages)]


class RangeTestHook(TrialHook):
    """Drives a training through a staircase of precisions, keeps the loss of every step and
    evaluates the model at the end of every stage.

    Args:
        bits, grad_bits: the planned bits of every staircase step.
        steps_per_bits: the stage length (evaluations after steps ``k * steps_per_bits - 1``;
            ``None``: none).
    """

    def __init__(self, bits: np.ndarray, grad_bits: np.ndarray, steps_per_bits: int | None = None) -> None:
        self.bits = np.asarray(bits, dtype=np.int64)
        self.grad_bits = np.asarray(grad_bits, dtype=np.int64)
        self.losses = np.full(len(self.bits), np.nan)
        self.steps_per_bits = steps_per_bits
        self.stage_metrics: list[float | None] = []
        self.stage_test_metrics: list[float | None] = []
        self.stop_requested = False
        self._context: TrainContext | None = None

    def on_train_start(self, context: TrainContext) -> None:
        self._context = context

    def on_step_start(self, step: int, context: TrainContext) -> None:
        context.handle.set_bits(int(self.bits[step]), int(self.grad_bits[step]))

    def on_step_end(self, step: int, loss: Any) -> None:
        self.losses[step] = float(loss)
        if self.steps_per_bits and (step + 1) % self.steps_per_bits == 0 and np.isfinite(self.losses[step]):
            self._evaluate()
        if step + 1 >= len(self.bits):
            self.stop_requested = True

    def _evaluate(self) -> None:
        """The task's metrics now, at the stage's bits (eval mode, no grad; the quantized layers
        do not record evaluation forwards, and training resumes in train mode)."""
        import torch

        context = self._context
        if context is None:
            return
        model = context.prepared.model
        model.eval()
        try:
            with torch.no_grad():
                evaluation = context.task.evaluate(model, context.prepared, context.budget)
        finally:
            model.train()
        self.stage_metrics.append(float(evaluation.metric))
        test = evaluation.test_metric
        self.stage_test_metrics.append(None if test is None else float(test))


def run_range_test(task_name: str, bits_list: Sequence[int], steps_per_bits: int, *,
                   grad_bits: int = 8, budget: str = "default", seed: int = 0,
                   data_dir: str | None = None, device: str | None = None,
                   threads: int | None = None, z: float = DEFAULT_Z,
                   min_frac: float = DEFAULT_MIN_FRAC,
                   head_frac: float = DEFAULT_HEAD_FRAC) -> RangeTestRun:
    """Train ``steps_per_bits`` steps at each of ``bits_list`` and score the stages.

    Raises:
        UnknownNameError: unknown task or budget.
        DataError: the task's data is missing.
    """
    from cpt_search.presets import static
    from cpt_search.tasks.resolve import resolve_task
    from cpt_search.training import TrialDiverged, TrialSpec, run_trial
    from cpt_search.training.runner import expand_runs

    started = time.perf_counter()
    info = resolve_task(task_name, where="range-test", key="--task")
    budget_value = info.check_budget(budget, where="range-test", key="--budget")
    schedule = staircase(list(bits_list), steps_per_bits, grad_bits=grad_bits)
    total_steps = len(bits_list) * steps_per_bits  # the staircase's own length (its nominal_steps)
    planned_bits, planned_grad_bits = schedule.tracks(total_steps)
    hook = RangeTestHook(planned_bits, planned_grad_bits, steps_per_bits)
    # The staircase is the first steps of a normal run; a budget shorter than it is lengthened.
    real_steps = info.total_steps(budget_value)
    overrides = None
    if real_steps is not None and real_steps < total_steps:
        per_epoch = real_steps // budget_value.epochs
        overrides = {"epochs": -(-total_steps // per_epoch)}
    log.info("range test %s/%s: %d steps, bits %s x %d steps", task_name, budget, total_steps,
             list(bits_list), steps_per_bits)
    spec = TrialSpec(task=task_name, budget=budget, schedule=static(max(bits_list), grad_bits),
                     seed=seed, data_dir=data_dir, device=device, threads=threads,
                     budget_overrides=overrides)
    used = np.array([], dtype=np.int64)
    try:
        result = run_trial(spec, hooks=[hook])
        used = expand_runs(result.bit_runs)[0]
    except TrialDiverged as error:  # the stages after it score as diverged (NaN losses)
        log.warning("range test diverged at step %s (%d bits)", error.value,
                    planned_bits[min(int(error.value), total_steps - 1)])
    if len(used) and not np.array_equal(used, planned_bits[:len(used)]):
        raise RuntimeError("the quantized layers did not use the planned staircase bits")
    losses = hook.losses
    stages = [losses[i * steps_per_bits:(i + 1) * steps_per_bits] for i in range(len(bits_list))]
    score = score_stages(list(bits_list), stages, z=z, min_frac=min_frac, head_frac=head_frac)
    return RangeTestRun(task=task_name, budget=budget, seed=seed, bits_list=tuple(bits_list),
                        steps_per_bits=steps_per_bits, grad_bits=grad_bits, losses=losses,
                        bits=used, score=score, seconds=time.perf_counter() - started,
                        metric_name=info.metric_name, test_metric_name=info.test_metric_name,
                        stage_metrics=tuple(hook.stage_metrics),
                        stage_test_metrics=tuple(hook.stage_test_metrics))
