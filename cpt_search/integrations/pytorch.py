"""Plain PyTorch (and Accelerate): the schedule follows ``optimizer.step()``, the loop stays as it is.

::

    stepper = cpt_search.apply_schedule(model, optimizer, "best.yaml", total_steps=len(loader) * epochs)
    for x, y in loader: ...                         # the user's loop, unchanged

The model is quantized and set to step 0's bits at once; a post-hook on the optimizer's
``step`` (``Optimizer.register_step_post_hook``) sets the next step's bits after each update. A
post-hook rather than a pre-hook: an update's forward passes (every micro-batch of a
gradient-accumulation step, and an LBFGS closure called inside ``step``) all run before the step
is over, so all of them see that step's bits. Accelerate's wrapped optimizer steps its inner torch
optimizer only when gradients are synchronised (once per accumulation), which is where the hook sits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from cpt_search.errors import ConfigError
from cpt_search.integrations.stepper import PrecisionStepper
from cpt_search.quant import QuantConfig, QuantHandle
from cpt_search.schedule import BitSchedule

__all__ = ["ScheduledOptimizer", "apply_schedule"]


class ScheduledOptimizer(PrecisionStepper):
    """A :class:`~cpt_search.integrations.stepper.PrecisionStepper` driven by an optimizer's steps
    (what :func:`apply_schedule` returns). :meth:`remove` detaches it."""

    def __init__(self, model: nn.Module, optimizer: Any, schedule: BitSchedule | str | Path | Mapping[str, Any],
                 total_steps: int, *, config: QuantConfig | None = None,
                 handle: QuantHandle | None = None) -> None:
        super().__init__(model, schedule, total_steps, config=config, handle=handle, where="apply_schedule")
        self.optimizer = _torch_optimizer(optimizer)
        self._finished = False
        self.set_step(0)
        self._hooks.append(self.optimizer.register_step_post_hook(self._after_step))

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        assert self.total_steps is not None  # set in __init__
        if self._finished:
            raise ConfigError(f"the optimizer stepped more than total_steps={self.total_steps} times",
                              where="apply_schedule", key="total_steps", value=self.total_steps,
                              fix="pass the number of optimizer steps the loop makes "
                                  "(batches x epochs / gradient accumulation)")
        step = (self.current_step or 0) + 1
        if step < self.total_steps:
            self.set_step(step)
        else:
            self._finished = True

    @property
    def finished(self) -> bool:
        """Whether the optimizer has made all ``total_steps`` steps."""
        return self._finished

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue a saved run (its history and the bits of the step it stopped before)."""
        super().load_state_dict(state)
        self._finished = False


def apply_schedule(model: nn.Module, optimizer: Any, schedule: BitSchedule | str | Path | Mapping[str, Any],
                   total_steps: int, *, config: QuantConfig | None = None) -> ScheduledOptimizer:
    """Quantize ``model`` and run it under ``schedule`` over ``total_steps`` optimizer steps.

    Args:
        model: the model (quantized in place; ``optimizer`` keeps its parameters).
        optimizer: a ``torch.optim.Optimizer``, or a wrapper holding one in ``.optimizer``
            (Accelerate's ``AcceleratedOptimizer``).
        schedule: a schedule, the path of an exported schedule file, or a schedule mapping.
        total_steps: the optimizer steps of the run (with gradient accumulation: updates, not batches).
        config: what to quantize (default: the last layer stays FP32).

    Returns:
        The stepper: ``history`` (what was applied), ``handle`` (the quantized layers),
        ``state_dict``/``load_state_dict`` for checkpoints, ``remove()``.

    Raises:
        ConfigError: too few steps for the schedule, or an optimizer that is not a torch optimizer.
    """
    return ScheduledOptimizer(model, optimizer, schedule, total_steps, config=config)


def _torch_optimizer(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer itself: Accelerate (``.optimizer``) and Lightning (``._optimizer``)
    wrappers step it, and only its own ``step`` runs the hooks registered on it."""
    seen = optimizer
    for _ in range(8):  # wrappers of wrappers, never a cycle
        if type(seen).__module__.startswith("torch.") and isinstance(seen, torch.optim.Optimizer):
            return seen
        inner = getattr(seen, "optimizer", None) or getattr(seen, "_optimizer", None)
        if inner is None:
            break
        seen = inner
    if isinstance(seen, torch.optim.Optimizer):
        return seen
    raise ConfigError("not a torch optimizer (nor a wrapper of one)", where="apply_schedule",
                      key="optimizer", value=type(optimizer).__name__,
                      fix="pass the torch.optim.Optimizer that steps the model's parameters")
