"""The trainer-independent part of every integration: quantize a model and step it through a schedule.

:class:`PrecisionStepper` does what the search's own loop (:mod:`cpt_search.training.runner`) does
around a user's trainer: ``quantize_`` the model once, evaluate the schedule over the run's optimizer
steps, set ``(bits, grad_bits)`` before the forward passes of each optimizer step (all micro-batches
of a gradient-accumulation step share one step), and evaluate at the schedule's upper bounds
(``max_bits`` / ``max_grad_bits``, the precision the cycles end at and the model is deployed at), as
the search does. The Lightning, Hugging Face and plain-PyTorch integrations only translate their
trainer's step counter into :meth:`PrecisionStepper.set_step` calls.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from torch import nn

from cpt_search.errors import ConfigError
from cpt_search.export import load_schedule
from cpt_search.piecewise import schedule_from_any_dict
from cpt_search.quant import QuantConfig, QuantHandle, quantize_
from cpt_search.schedule import BitSchedule

logger = logging.getLogger(__name__)

StepBits = tuple[int, int, int]
"""One applied step: ``(step, bits, grad_bits)``."""


def resolve_schedule(schedule: BitSchedule | str | Path | Mapping[str, Any], *, where: str) -> BitSchedule:
    """A schedule object as given, one read from an exported file (``cpt-search export``), or one
    built from its ``to_dict()`` mapping."""
    if isinstance(schedule, BitSchedule):
        return schedule
    if isinstance(schedule, (str, Path)):
        return load_schedule(schedule)
    if isinstance(schedule, Mapping):
        return schedule_from_any_dict(schedule, where=where)
    raise ConfigError("schedule must be a Schedule, an exported schedule file or a schedule mapping",
                      where=where, key="schedule", value=type(schedule).__name__,
                      fix="pass cpt_search.load_schedule('best.yaml'), the path itself or a preset")


class PrecisionStepper:
    """Quantizes ``model`` and sets its bits step by step from ``schedule``.

    Args:
        model: the model to quantize in place (its supported layers are swapped, see
            :func:`cpt_search.quant.quantize_`; an optimizer built before keeps working).
        schedule: a :class:`~cpt_search.schedule.Schedule` (or any ``BitSchedule``), the path of an
            exported schedule file, or a schedule mapping.
        total_steps: optimizer steps of the whole run; may be given later with :meth:`start` when
            the trainer knows it only once training begins.
        config: what to quantize (default :class:`~cpt_search.quant.QuantConfig`: the last layer,
            usually the classifier, stays FP32 as in both papers).
        handle: the handle of a model that is already quantized, instead of quantizing it again.

    Attributes:
        schedule: the schedule.
        handle: the :class:`~cpt_search.quant.QuantHandle` of the quantized layers.
        history: every ``(step, bits, grad_bits)`` set, in order; after a run of ``N`` steps it equals
            ``zip(range(N), *schedule.tracks(N))``. Restored by :meth:`load_state_dict`.
        total_steps: the run's optimizer steps, once known.
    """

    def __init__(self, model: nn.Module, schedule: BitSchedule | str | Path | Mapping[str, Any],
                 total_steps: int | None = None, *, config: QuantConfig | None = None,
                 handle: QuantHandle | None = None, where: str = "PrecisionStepper") -> None:
        self.schedule = resolve_schedule(schedule, where=where)
        self.handle = handle if handle is not None else quantize_(model, config)
        self.history: list[StepBits] = []
        self.total_steps: int | None = None
        self._where = where
        self._bits: np.ndarray | None = None
        self._grad_bits: np.ndarray | None = None
        # Evaluation at the top bits, whoever calls the forward: a pre-hook on every quantized layer
        # picks the bits from the layer's mode, so no trainer's evaluation hooks need to be found.
        self._hooks = [_module(layer).register_forward_pre_hook(self._pick_bits) for layer in self.handle.layers]
        if total_steps is not None:
            self.start(total_steps)

    # ------------------------------------------------------------------ the run

    @property
    def eval_bits(self) -> tuple[int, int]:
        """``(max_bits, max_grad_bits)``: the precision evaluation forwards run at."""
        return int(self.schedule.max_bits), int(self.schedule.max_grad_bits)

    def start(self, total_steps: int) -> None:
        """Evaluate the schedule over ``total_steps`` optimizer steps (once; again only with the
        same count).

        Raises:
            ConfigError: too few steps for the schedule's cycles, or a count that differs from the
                one a restored state was trained with.
        """
        if self.total_steps is not None and total_steps != self.total_steps:
            raise ConfigError(f"the run was started with total_steps={self.total_steps}", where=self._where,
                              key="total_steps", value=total_steps,
                              fix="resume with the same number of optimizer steps (epochs, batches, "
                                  "gradient accumulation) as the run that saved the state")
        self._bits, self._grad_bits = self.schedule.tracks(total_steps)
        self.total_steps = int(total_steps)

    def set_step(self, step: int) -> tuple[int, int]:
        """Set the bits of optimizer step ``step`` (0-based) and return them.

        Calling it again with the current step (one call per micro-batch) changes nothing and adds
        nothing to :attr:`history`.

        Raises:
            ConfigError: :meth:`start` was not called, or ``step`` is outside ``0..total_steps - 1``.
        """
        if self._bits is None or self._grad_bits is None or self.total_steps is None:
            raise ConfigError("the number of optimizer steps is not known yet", where=self._where,
                              fix="pass total_steps, or call start(total_steps) before the first step")
        if self.history and self.history[-1][0] == step:
            return self.history[-1][1], self.history[-1][2]
        if not 0 <= step < self.total_steps:
            raise ConfigError(f"the schedule covers optimizer steps 0..{self.total_steps - 1}",
                              where=self._where, key="step", value=step,
                              fix="give total_steps as the number of optimizer steps the run makes")
        bits, grad_bits = int(self._bits[step]), int(self._grad_bits[step])
        self.handle.set_bits(bits, grad_bits)
        self.history.append((int(step), bits, grad_bits))
        return bits, grad_bits

    @property
    def current_step(self) -> int | None:
        """The step whose bits are set, or ``None`` before the first."""
        return self.history[-1][0] if self.history else None

    def _pick_bits(self, layer: nn.Module, args: Any) -> None:
        bits, grad_bits = self.handle.bits if layer.training else self.eval_bits
        # plain instance attributes of a QuantLayer (cpt_search.quant.layers), not module state
        layer.__dict__.update(bits=bits, grad_bits=grad_bits)

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint: the schedule, the run's step count and the history."""
        return {"schedule": self.schedule.to_dict(), "total_steps": self.total_steps,
                "history": [list(entry) for entry in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue the run a checkpoint saved: its history, and its bits from the next step on.

        Raises:
            ConfigError: the checkpoint was trained under another schedule or step count.
        """
        saved = schedule_from_any_dict(state["schedule"], where=f"{self._where} checkpoint")
        if saved != self.schedule:
            raise ConfigError("the checkpoint was trained under a different schedule", where=self._where,
                              key="schedule", value=saved.label,
                              fix=f"resume with the schedule it was trained with, not {self.schedule.label}")
        if state.get("total_steps") is not None:
            self.start(int(state["total_steps"]))
        self.history = [(int(step), int(bits), int(grad_bits)) for step, bits, grad_bits in state["history"]]
        if self.history:
            self.handle.set_bits(self.history[-1][1], self.history[-1][2])

    def remove(self) -> None:
        """Stop picking evaluation bits (the layers stay quantized; ``handle.restore()`` undoes that)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.schedule.label}, total_steps={self.total_steps}, "
                f"step={self.current_step})")


def _module(layer: object) -> nn.Module:
    """A quantized layer as the ``nn.Module`` it is (the QuantLayer mixin is typed apart)."""
    assert isinstance(layer, nn.Module)
    return layer
