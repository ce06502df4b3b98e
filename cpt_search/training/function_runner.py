"""Run one trial of a training function (:func:`cpt_search.training_function`).

The counterpart of :func:`cpt_search.training.runner.run_trial`'s loop for a user who keeps their
own: seed, set threads and device, hand the function a :class:`~cpt_search.training.context.TrialContext`,
then check what it did (quantized, attached, stepped exactly ``total_steps`` times, reported) and
build the same :class:`~cpt_search.training.records.TrialResult` a task's trial gives. BitOPs come
from the MACs ``ctx.quantize`` counted and the schedule over ``total_steps`` (docs/method.md §2); the
step hook guarantees those were the bits each step ran at.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Callable, Sequence

from cpt_search.costs import summarize_tracks, training_bitops
from cpt_search.errors import ConfigError
from cpt_search.tasks.function import FunctionTaskInfo, budget_label
from cpt_search.training.context import StopTraining, TrialContext
from cpt_search.training.hooks import TrialHook
from cpt_search.training.records import EpochRecord, TrialResult, TrialSpec

log = logging.getLogger(__name__)


def run_function_trial(spec: TrialSpec, info: FunctionTaskInfo, *,
                       on_epoch: Callable[[EpochRecord], None] | None = None,
                       hooks: Sequence[TrialHook] = ()) -> TrialResult:
    """Call the training function ``info`` names once under ``spec.schedule``.

    Hooks see every report (``on_epoch_end``) and may stop the training (``stop_requested``); the
    per-step hooks of a task's loop do not exist here (the loop is the user's).

    Raises:
        ConfigError: the function skipped ``ctx.quantize``, ``ctx.attach`` or ``ctx.report``, or
            stepped the optimizer another number of times than ``total_steps``.
        TrialDiverged: a NaN or infinite metric was reported.
    """
    import torch

    from cpt_search.malloc_tuning import keep_freed_memory
    from cpt_search.training.runner import resolve_device, run_lengths, seed_everything

    started = time.perf_counter()
    keep_freed_memory()
    function = info.load()
    budget = info.budget(spec.budget, dict(spec.budget_overrides or ()), where=f"task {spec.task}")
    declared = function.total_steps(budget, where=f"task {spec.task}")
    if spec.threads is not None:
        torch.set_num_threads(int(spec.threads))
    device = resolve_device(spec.device)
    seed_everything(spec.seed)
    where = f"task {spec.task}"

    def on_report(record: EpochRecord) -> None:
        if on_epoch is not None:
            on_epoch(record)
        for hook in hooks:
            hook.on_epoch_end(record)
        if any(hook.stop_requested for hook in hooks):
            raise StopTraining()

    ctx = TrialContext(schedule=spec.schedule, seed=spec.seed, budget=budget, device=device,
                       threads=spec.threads, data_dir=spec.data_dir, download=spec.download,
                       declared_steps=declared, on_report=on_report, where=where)
    log.info("%s/%s seed %d on %s: %s steps, schedule %s", spec.task, budget_label(budget), spec.seed,
             device, declared if declared is not None else "?", spec.schedule.label)
    stopped = False
    try:
        function(ctx)
    except StopTraining:
        stopped = True
    finally:
        if ctx._stepper is not None:
            ctx._stepper.remove()
    _check_contract(ctx, stopped, where)

    done = ctx.steps_done
    bits, grad_bits = (track[:done] for track in ctx.bits)
    summary = summarize_tracks(bits, grad_bits)
    report = training_bitops(bits, grad_bits, ctx.layers, ctx.samples_per_step)
    final = ctx.records[-1] if ctx.records else None
    assert ctx.handle is not None  # _check_contract
    return TrialResult(
        task=spec.task, budget=budget_label(budget), seed=spec.seed,
        metric=math.nan if final is None else final.metric, metric_name=info.metric_name,
        higher_is_better=info.higher_is_better, accuracy=None if final is None else final.accuracy,
        bitops=report.bitops, paper_bitops=report.paper_bitops, fp32_bitops=report.fp32_bitops,
        relative_cost=summary.relative_cost, relative_cost_vs_8_8=summary.relative_cost_vs_8_8,
        mean_bits=summary.mean_bits, mean_grad_bits=summary.mean_grad_bits, total_steps=done,
        seconds=time.perf_counter() - started, device=str(device), bit_runs=run_lengths(bits, grad_bits),
        epochs=tuple(ctx.records), schedule=spec.schedule.to_dict(), schedule_label=spec.schedule.label,
        quant_kernels=ctx.handle.kernels, test_metric=None if final is None else final.test_metric,
        test_metric_name=info.test_metric_name,
    )


def _check_contract(ctx: TrialContext, stopped: bool, where: str) -> None:
    """What a training function must have done, one line per omission."""
    if ctx.handle is None:
        raise ConfigError("the training function never called ctx.quantize(model, example_batch)",
                          where=where, key="quantize",
                          fix="quantize the model before its first optimizer step")
    if ctx._stepper is None:
        raise ConfigError("the training function never called ctx.attach(optimizer)", where=where,
                          key="attach", fix="attach the optimizer so each step runs at the scheduled bits")
    if stopped:
        return
    if ctx.steps_done != ctx.total_steps:
        raise ConfigError(f"the optimizer stepped {ctx.steps_done} times, but total_steps is "
                          f"{ctx.total_steps}", where=where, key="total_steps", value=ctx.total_steps,
                          fix="declare the steps the loop really makes (epochs x batches per epoch, "
                              "drop_last=True)")
    if not ctx.records:
        raise ConfigError("the training function never called ctx.report(epoch=..., metric=...)",
                          where=where, key="report", fix="report the validation metric after evaluating")


__all__ = ["run_function_trial"]
