"""Hooks into the training loop of :func:`cpt_search.training.run_trial`.

In the spirit of Lightning's ``Callback``: :class:`TrialHook` is a base class of no-op methods the
loop calls; a behaviour (reporting epochs to Ray Tune, CPT's precision range test, a user's own
probe) overrides the ones it needs instead of copying the loop. Hooks run in the trial's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import numpy as np
    import torch

    from cpt_search.quant import QuantHandle
    from cpt_search.tasks.base import Prepared, Task
    from cpt_search.tasks.budgets import Budget
    from cpt_search.training.records import EpochRecord


@dataclass(frozen=True)
class TrainContext:
    """What a hook can see of a training that is about to start.

    Attributes:
        task, budget: what trains.
        prepared: the task's data and model (quantized in place).
        handle: the quantization handle (``set_bits``, recording).
        total_steps: optimizer steps of the whole training.
        bits, grad_bits: the schedule's planned bits for every step.
    """

    task: Task
    budget: Budget
    prepared: Prepared
    handle: QuantHandle
    total_steps: int
    bits: np.ndarray
    grad_bits: np.ndarray


class TrialHook:
    """No-op hooks of the training loop; override what you need.

    Order per training: ``on_train_start``; per step ``on_step_start`` (the scheduled bits are set;
    a hook may set others through ``context.handle``) and ``on_step_end`` (after the optimizer
    step); per evaluated epoch ``on_epoch_end``. Setting :attr:`stop_requested` ends the training
    after the current step, without a final evaluation.
    """

    stop_requested: bool = False

    def on_train_start(self, context: TrainContext) -> None:
        """The model is quantized and the schedule evaluated; no step has run."""

    def on_step_start(self, step: int, context: TrainContext) -> None:
        """Step ``step`` (0-based) is about to run its forward pass."""

    def on_step_end(self, step: int, loss: torch.Tensor) -> None:
        """Step ``step`` finished (``loss`` is its training loss, detached)."""

    def on_epoch_end(self, record: EpochRecord) -> None:
        """An evaluated epoch (every ``budget.eval_every`` epochs and the last)."""


class EpochCallback(TrialHook):
    """A plain function called with every :class:`~cpt_search.training.EpochRecord`."""

    def __init__(self, function: Callable[[EpochRecord], Any]) -> None:
        self.function = function

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.function(record)
