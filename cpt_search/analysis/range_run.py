"""CPT's precision range test, the training half: a staircase of precisions, loss per step.

This is a different procedure from a trial (a fixed number of steps per precision, the training
loss of every step, no evaluation), so it drives the task's pieces directly instead of
:func:`cpt_search.training.run_trial`: the same data, model, quantization handle, optimizer and
learning-rate schedule as the task's real training, whose first steps the range test stands for
(the learning-rate schedule is set up for the budget's full length, as CPT runs the test during the
first epochs of training).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cpt_search.analysis.range_test import (
    DEFAULT_HEAD_FRAC,
    DEFAULT_MIN_FRAC,
    DEFAULT_Z,
    MIN_STEPS_PER_BITS,
    RangeTestScore,
    score_stages,
)
from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_STEPS_PER_BITS
from cpt_search.piecewise import staircase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RangeTestRun:
    """A finished range test.

    Attributes:
        task, budget, seed: what was trained.
        bits_list, steps_per_bits, grad_bits: the staircase.
        losses: training loss of every step (NaN after a divergence).
        bits: forward bits every step actually used (recorded by the quantized layers).
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

    def to_json(self) -> dict:
        """Plain document: settings, the suggestion, the stages and the per-step curve."""
        return {
            "task": self.task, "budget": self.budget, "seed": self.seed,
            "bits_list": list(self.bits_list), "steps_per_bits": self.steps_per_bits,
            "grad_bits": self.grad_bits, "suggested_min_bits": self.score.suggested_min_bits,
            "rule": self.score.rule, "stages": [s.to_dict() for s in self.score.stages],
            "losses": [None if not np.isfinite(v) else float(v) for v in self.losses],
            "seconds": self.seconds,
        }


def check_range(start_bits: int, max_bits: int, steps_per_bits: int) -> list[int]:
    """``start_bits .. max_bits`` after checking the flags; errors name the flag."""
    for flag, value in (("--start-bits", start_bits), ("--max-bits", max_bits)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 32:
            raise ConfigError("bits must be an integer in 1..32", key=flag, value=value,
                              fix="use 1..32 (32 = full precision)")
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
    import torch

    from cpt_search.data import DataOptions
    from cpt_search.quant import quantize_
    from cpt_search.tasks import TASKS
    from cpt_search.training.runner import optimizer_step, resolve_device, seed_everything

    started = time.perf_counter()
    task = TASKS.get(task_name, where="range-test", key="--task")
    budget_value = task.budget(budget)
    schedule = staircase(list(bits_list), steps_per_bits, grad_bits=grad_bits)
    total_steps = schedule.nominal_steps
    planned_bits, planned_grad_bits = schedule.tracks(total_steps)
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch_device = resolve_device(device)

    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    prepared = task.prepare(budget_value, DataOptions(data_dir=data_dir), torch_device)
    model = prepared.model
    handle = quantize_(model, task.quant_config())
    # The learning rate follows the real training's schedule over its full length (at least as long
    # as the test), so the stages see the first part of a normal run.
    real_steps = budget_value.epochs * prepared.steps_per_epoch
    optimizer, scheduler = task.make_optimizer(model, budget_value, max(real_steps, total_steps))
    log.info("range test %s/%s: %d steps, bits %s x %d steps", task_name, budget, total_steps,
             list(bits_list), steps_per_bits)

    losses = np.full(total_steps, np.nan)
    model.train()
    handle.start_recording()
    step = 0
    diverged = False
    while step < total_steps and not diverged:
        for batch in task.batches(prepared, budget_value, generator):
            if step >= total_steps:
                break
            handle.set_bits(int(planned_bits[step]), int(planned_grad_bits[step]))
            loss = task.loss(model, batch)
            value = float(loss.detach())
            losses[step] = value
            if not np.isfinite(value):
                log.warning("range test diverged at step %d (%d bits)", step, planned_bits[step])
                diverged = True
                break
            optimizer_step(task, model, loss, optimizer, scheduler, budget_value)
            step += 1
    handle.stop_recording()
    used = np.array([b for b, _ in handle.recorded_bits], dtype=np.int64)
    if not np.array_equal(used, planned_bits[:len(used)]):  # the staircase must reach the model
        raise RuntimeError("the quantized layers did not use the planned staircase bits")
    stages = [losses[i * steps_per_bits:(i + 1) * steps_per_bits] for i in range(len(bits_list))]
    score = score_stages(list(bits_list), stages, z=z, min_frac=min_frac, head_frac=head_frac)
    return RangeTestRun(task=task_name, budget=budget, seed=seed, bits_list=tuple(bits_list),
                        steps_per_bits=steps_per_bits, grad_bits=grad_bits, losses=losses,
                        bits=used, score=score, seconds=time.perf_counter() - started)
