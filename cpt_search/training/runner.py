"""Run one trial: train a task once under a precision schedule and account for its bit operations.

The loop, for every task:

1. seed everything, load the data, build the model, ``quantize_`` it, count its MACs per layer;
2. evaluate the schedule once: ``bits, grad_bits = schedule.tracks(total_steps)`` with
   ``total_steps = epochs * steps_per_epoch`` known up front;
3. before every optimizer step ``handle.set_bits(bits[t], grad_bits[t])``; a loss that is not finite
   raises :class:`TrialDiverged` with the step;
4. every ``budget.eval_every`` epochs and after the last, evaluate (the validation metric, and the
   test metric reported beside it) at the schedule's upper bounds (``max_bits`` /
   ``max_grad_bits``, the precision the model ends its cycles at and is deployed at) and report an
   :class:`EpochRecord`;
5. bit operations come from the bits the quantized layers actually recorded, not the plan.

Behaviours beyond that (reporting to Ray Tune, CPT's range test) are :class:`~cpt_search.training.hooks.TrialHook`
objects the loop calls, not copies of the loop.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from typing import Callable, Sequence

import numpy as np

from cpt_search.costs import summarize_tracks, training_bitops
from cpt_search.data import DataOptions
from cpt_search.errors import ConfigError
from cpt_search.tasks.function import FunctionTaskInfo
from cpt_search.training.errors import TrialDiverged
from cpt_search.training.hooks import EpochCallback, TrainContext, TrialHook
from cpt_search.training.records import EpochRecord, TrialResult, TrialSpec

log = logging.getLogger(__name__)


def resolve_device(name: str | None):
    """``torch.device`` for ``name``; ``None`` picks CUDA when available, else the CPU."""
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError("not a torch device", key="device", value=name,
                          fix="use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine", key="device", value=name,
                          fix="use --device cpu or leave the device unset")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) global generators, and the quantizer's noise."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    _reset_quantizer_noise()


def _reset_quantizer_noise() -> None:
    """Drop the quantizer's process-wide stochastic-rounding noise tables.

    They are drawn from torch's generator on first use and then live for the process, so without
    this a second trial in the same process (a reused Ray worker, a test) would round differently
    from the first one with the same seed.
    """
    from cpt_search.quant.kernels import reset_noise_tables

    reset_noise_tables()


def run_trial(spec: TrialSpec, *, on_epoch: Callable[[EpochRecord], None] | None = None,
              hooks: Sequence[TrialHook] = (), progress: bool = False) -> TrialResult:
    """Train ``spec.task`` once under ``spec.schedule`` and return its metric and cost.

    Args:
        spec: what to run.
        on_epoch: called with each :class:`EpochRecord` (a Ray Tune worker reports from here).
        hooks: :class:`~cpt_search.training.hooks.TrialHook` objects called by the loop.
        progress: show a tqdm bar over the steps on stderr.

    Raises:
        UnknownNameError: unknown task or budget.
        DataError: the task's data is missing.
        ConfigError: a bad device, or a schedule that cannot cover the budget's steps.
        TrialDiverged: the loss became NaN or infinite.
    """
    entered = time.perf_counter()
    import torch

    from cpt_search.data.memo import load_seconds
    from cpt_search.malloc_tuning import keep_freed_memory
    from cpt_search.quant import count_macs, quantize_
    from cpt_search.tasks.resolve import resolve_task

    info = resolve_task(spec.task, where="trial", key="task")
    if isinstance(info, FunctionTaskInfo):  # the user's own loop (cpt_search.training_function)
        from cpt_search.training.function_runner import run_function_trial

        return run_function_trial(spec, info, on_epoch=on_epoch, hooks=hooks)
    started = time.perf_counter()
    keep_freed_memory()  # no page faults on each step's big tensors (see cpt_search.malloc_tuning)
    task = info.load()
    imported = time.perf_counter()  # torch and the task's module: only a fresh process pays them
    budget_name = spec.budget
    if not isinstance(budget_name, str):  # space.loading refuses this too; TrialSpec is also public API
        raise ConfigError(f"task {spec.task} has named budgets (a mapping is for training functions)",
                          where="trial", key="budget", value=budget_name,
                          fix=f"use one of: {', '.join(info.budget_names)}")
    budget = task.budget(budget_name, dict(spec.budget_overrides or ()))
    hooks = list(hooks) + ([EpochCallback(on_epoch)] if on_epoch is not None else [])
    if spec.threads is not None:
        torch.set_num_threads(int(spec.threads))
    device = resolve_device(spec.device)
    options = DataOptions(data_dir=spec.data_dir, download=spec.download, cache_dir=spec.cache_dir)

    seed_everything(spec.seed)
    generator = torch.Generator().manual_seed(spec.seed)  # batch order and augmentation
    read_before = load_seconds()
    prepared = task.prepare(budget, options, device)
    data_seconds = load_seconds() - read_before  # the rest of prepare() builds the model
    model = prepared.model
    handle = quantize_(model, task.quant_config())
    total_steps = budget.epochs * prepared.steps_per_epoch
    bits, grad_bits = spec.schedule.tracks(total_steps)  # ConfigError if too few steps for the cycles
    eval_bits = (spec.schedule.max_bits, spec.schedule.max_grad_bits)

    model.eval()
    with torch.no_grad():
        handle.set_bits(*eval_bits)
        layers = count_macs(model, *prepared.example_inputs, handle=handle)
    optimizer, scheduler = task.make_optimizer(model, budget, total_steps)
    context = TrainContext(task=task, budget=budget, prepared=prepared, handle=handle,
                           total_steps=total_steps, bits=bits, grad_bits=grad_bits)
    built = time.perf_counter()
    for hook in hooks:
        hook.on_train_start(context)
    log.info("%s/%s seed %d on %s: %d steps, schedule %s", spec.task, spec.budget, spec.seed,
             device, total_steps, spec.schedule.label)

    # On CUDA, reading the loss every step would synchronise the device; check in chunks instead.
    check_every = 1 if device.type == "cpu" else 25
    records: list[EpochRecord] = []
    used_bits: list[int] = []
    used_grad_bits: list[int] = []
    pending_losses: list = []  # per-epoch mean losses since the last record
    step = 0
    stopped = False
    bar = _progress_bar(total_steps, progress)
    handle.start_recording()  # one record per training forward; evaluation forwards are not recorded
    try:
        for epoch in range(1, budget.epochs + 1):
            model.train()
            losses = torch.zeros(prepared.steps_per_epoch, device=device)
            checked = 0
            done = 0
            for index, batch in enumerate(task.batches(prepared, budget, generator)):
                handle.set_bits(int(bits[step]), int(grad_bits[step]))
                for hook in hooks:
                    hook.on_step_start(step, context)
                loss = task.loss(model, batch)
                losses[index] = loss.detach()
                if (index + 1 - checked) >= check_every:
                    _check_finite(losses, checked, index + 1, step - index, spec.task)
                    checked = index + 1
                optimizer_step(task, model, loss, optimizer, scheduler, budget)
                for hook in hooks:
                    hook.on_step_end(step, losses[index])
                step += 1
                done = index + 1
                bar.update(1)
                if any(hook.stop_requested for hook in hooks):
                    stopped = True
                    break
            _check_finite(losses, checked, done, step - done, spec.task)
            recorded_bits, recorded_grad_bits = _take_recorded(handle, done)
            used_bits.extend(recorded_bits)
            used_grad_bits.extend(recorded_grad_bits)
            pending_losses.append(losses[:done].mean())
            if stopped:
                break  # a hook ended the training: no final evaluation
            if epoch % budget.eval_every and epoch != budget.epochs:
                continue

            model.eval()
            with torch.no_grad():
                handle.set_bits(*eval_bits)
                evaluation = task.evaluate(model, prepared, budget)
            report = training_bitops(np.asarray(used_bits), np.asarray(used_grad_bits), layers,
                                     prepared.samples_per_step)
            record = EpochRecord(
                epoch=epoch, step=step, loss=float(torch.stack(pending_losses).mean()),
                metric=float(evaluation.metric),
                accuracy=None if evaluation.accuracy is None else float(evaluation.accuracy),
                mean_bits_so_far=float(np.mean(used_bits)), bitops_so_far=report.bitops,
                seconds=time.perf_counter() - started,
                test_metric=None if evaluation.test_metric is None else float(evaluation.test_metric),
                total_steps=total_steps,
            )
            records.append(record)
            pending_losses = []
            bar.set_postfix(loss=f"{record.loss:.3f}", metric=f"{record.metric:.4f}", refresh=False)
            for hook in hooks:
                hook.on_epoch_end(record)
    finally:
        bar.close()
        handle.stop_recording()

    trained = time.perf_counter()
    used = (np.asarray(used_bits, dtype=np.int64), np.asarray(used_grad_bits, dtype=np.int64))
    summary = summarize_tracks(*used)
    report = training_bitops(*used, layers, prepared.samples_per_step)
    final = records[-1] if records else None  # a hook may stop before the first evaluation
    return TrialResult(
        task=spec.task, budget=budget_name, seed=spec.seed,
        metric=math.nan if final is None else final.metric,
        metric_name=task.metric_name, higher_is_better=task.higher_is_better,
        accuracy=None if final is None else final.accuracy, bitops=report.bitops, paper_bitops=report.paper_bitops,
        fp32_bitops=report.fp32_bitops, relative_cost=summary.relative_cost,
        relative_cost_vs_8_8=summary.relative_cost_vs_8_8, mean_bits=summary.mean_bits,
        mean_grad_bits=summary.mean_grad_bits, total_steps=step,
        seconds=time.perf_counter() - started, device=str(device), bit_runs=run_lengths(*used),
        epochs=tuple(records),
        schedule=spec.schedule.to_dict(), schedule_label=spec.schedule.label,
        quant_kernels=handle.kernels,
        test_metric=None if final is None else final.test_metric,
        test_metric_name=task.test_metric_name,
        phase_seconds={"import": imported - entered, "data": data_seconds,
                       "build": built - imported - data_seconds, "train": trained - built},
    )


def optimizer_step(task, model, loss, optimizer, scheduler, budget) -> None:
    """One update from ``loss``: backward, the task's gradient clipping, optimizer and LR steps."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    task.clip_gradients(model, budget)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()


def run_lengths(bits: np.ndarray, grad_bits: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    """Run-length encoding of per-step bits: ``((bits, grad_bits, steps), ...)``."""
    runs: list[list[int]] = []
    for b, g in zip(bits.tolist(), grad_bits.tolist()):
        if runs and runs[-1][0] == b and runs[-1][1] == g:
            runs[-1][2] += 1
        else:
            runs.append([b, g, 1])
    return tuple((b, g, steps) for b, g, steps in runs)


def expand_runs(runs) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`run_lengths`: per-step ``(bits, grad_bits)`` arrays."""
    bits = np.concatenate([np.full(n, b, dtype=np.int64) for b, _, n in runs])
    grad_bits = np.concatenate([np.full(n, g, dtype=np.int64) for _, g, n in runs])
    return bits, grad_bits


def _check_finite(losses, start: int, stop: int, first_step: int, task_name: str) -> None:
    """Raise :class:`TrialDiverged` at the first non-finite loss in ``losses[start:stop]``."""
    import torch

    window = losses[start:stop]
    finite = torch.isfinite(window)
    if bool(finite.all()):
        return
    bad = int((~finite).nonzero()[0, 0])
    raise TrialDiverged(
        f"training diverged: the loss is {float(window[bad])}", where=f"task {task_name}",
        key="step", value=first_step + start + bad,
        fix="lower the learning rate or raise min_bits; a search records this trial as failed",
    )


def _take_recorded(handle, steps: int) -> tuple[list[int], list[int]]:
    """The ``(bits, grad_bits)`` the quantized layers recorded for the last ``steps`` steps."""
    pairs = handle.recorded_bits
    handle.clear_recording()
    if not handle.layer_names:  # nothing quantized: every layer ran in FP32
        pairs = [(32, 32)] * steps
    # One training forward per optimizer step is part of the Task contract.
    assert len(pairs) == steps, f"recorded {len(pairs)} forwards for {steps} steps"
    return [int(b) for b, _ in pairs], [int(g) for _, g in pairs]


def _progress_bar(total_steps: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total_steps, disable=not enabled, file=sys.stderr, unit="step",
                dynamic_ncols=True, leave=False)
