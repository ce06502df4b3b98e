"""Hugging Face ``Trainer``: a ``TrainerCallback`` runs the schedule, the model and arguments stay as they are.

::

    from cpt_search.integrations.transformers import CyclicPrecisionCallback

    precision = CyclicPrecisionCallback("best.yaml")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[precision])
    trainer.train()                        # precision.history: the (step, bits, grad_bits) applied

Where each piece sits in the Trainer's run (``Trainer._inner_training_loop``, transformers 5.24):

- ``on_init_end``: the model is quantized when the Trainer is built, before ``train`` loads a
  checkpoint's weights, so a resumed run loads the quantizers' activation ranges into quantized
  layers. A callback added later (``trainer.add_callback``) or a ``model_init`` model is
  quantized at ``on_train_begin`` instead.
- ``on_train_begin``: ``state.max_steps`` is the run's optimizer (update) steps, with gradient
  accumulation already divided out; ``state.global_step`` is where a resumed run stands.
- ``on_step_begin``: the Trainer calls it once per update step, before the first micro-batch of
  the accumulation window (``step % gradient_accumulation_steps == 0``); ``state.global_step``
  counts finished updates, so it is the index of the update about to run.

Resume: the Trainer's own mechanism for callback state (``ExportableState``) restores a callback
only with ``restore_callback_states_from_checkpoint=True``, and then by building a *new* instance,
so the object the user holds would stop seeing ``history`` and the model would carry two steppers'
hooks. The state is written instead into ``state.stateful_callbacks`` under a key that is no class
name (:data:`STATE_KEY`), which ``trainer_state.json`` saves with every checkpoint and
``TrainerState.load_from_json`` reads back whatever that flag says; ``on_train_begin`` of the
resumed run loads it into this callback. (With the flag set, the Trainer logs that it ignores an
unknown callback entry; nothing else changes.)

Evaluation (``trainer.evaluate``, evaluation during training) runs at the schedule's top bits: the
stepper picks them from the layers' ``eval()`` mode, which the evaluation loop sets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from cpt_search.errors import ConfigError
from cpt_search.extras import missing_dependency
from cpt_search.integrations.stepper import PrecisionStepper, StepBits, quantized, resolve_schedule
from cpt_search.quant import QuantConfig
from cpt_search.schedule import BitSchedule

try:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
except ModuleNotFoundError as error:  # pragma: no cover - exercised by tests/integrations/test_extras.py
    raise (missing_dependency(error) or error) from None

__all__ = ["STATE_KEY", "CyclicPrecisionCallback"]

logger = logging.getLogger(__name__)

WHERE = "CyclicPrecisionCallback"
STATE_KEY = "cpt_search.CyclicPrecisionCallback"
"""Where the callback's state lives in ``TrainerState.stateful_callbacks`` (``trainer_state.json``)."""


class CyclicPrecisionCallback(TrainerCallback):
    """Run a cyclic precision schedule over a Hugging Face ``Trainer``'s update steps.

    Args:
        schedule: a :class:`~cpt_search.schedule.Schedule`, the path of an exported schedule file
            (``cpt-search export``), or a schedule mapping.
        config: what to quantize (default :class:`~cpt_search.quant.QuantConfig`: the last
            Linear layer, usually the classifier head, stays FP32).

    Attributes:
        schedule: the schedule.
        stepper: the :class:`~cpt_search.integrations.stepper.PrecisionStepper` (``None`` until the
            Trainer hands over the model); ``stepper.handle`` holds the quantized layers.

    Raises:
        ConfigError: a schedule that cannot be read (here); at ``trainer.train``, too few update
            steps for the schedule, or a checkpoint trained under another schedule or step count.
    """

    def __init__(self, schedule: BitSchedule | str | Path | Mapping[str, Any], *,
                 config: QuantConfig | None = None) -> None:
        self.schedule = resolve_schedule(schedule, where=WHERE)  # a bad file fails before any training
        self.config = config
        self.stepper: PrecisionStepper | None = None
        self._schedule_state = self.schedule.to_dict()  # the part of the saved state that never changes

    @property
    def history(self) -> list[StepBits]:
        """Every ``(step, bits, grad_bits)`` applied, in order (restored on resume)."""
        return self.stepper.history if self.stepper is not None else []

    # ------------------------------------------------------------------ events

    def on_init_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    model: nn.Module | None = None, **kwargs: Any) -> None:
        if model is not None:
            self._attach(model)

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       model: nn.Module | None = None, **kwargs: Any) -> None:
        if model is None:
            raise ConfigError("the Trainer passed no model to the callback", where=WHERE,
                              fix="give transformers.Trainer a model (or model_init)")
        if self.stepper is None or self.stepper.handle.model is not model:
            if state.global_step > 0:
                logger.warning("%s: the model is quantized only now, after the checkpoint's weights were "
                               "loaded; pass the callback in Trainer(callbacks=[...]) so the quantizers' "
                               "ranges are restored too", WHERE)
            self._attach(model)
        stepper = self._require_stepper()
        stepper.reset()  # a second train() on the same Trainer is a run of its own
        if state.global_step > 0:
            self._resume(state)
        if state.max_steps is None or state.max_steps <= 0:
            raise ConfigError("the Trainer's number of update steps is unknown", where=f"{WHERE} (state.max_steps)",
                              key="max_steps", value=state.max_steps,
                              fix="give TrainingArguments max_steps=N, or num_train_epochs with a sized dataset")
        stepper.start(state.max_steps)
        self._set(state.global_step)
        self._publish(state)

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                      **kwargs: Any) -> None:
        self._set(state.global_step)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        # The next update's bits are set by its on_step_begin, so a checkpoint written now holds
        # exactly the updates that ran.
        self._publish(state)  # before _maybe_log_save_evaluate writes trainer_state.json

    # ------------------------------------------------------------------ internals

    def _attach(self, model: nn.Module) -> None:
        if self.stepper is not None:
            self.stepper.remove()
        self.stepper = PrecisionStepper(model, self.schedule, handle=quantized(model, self.config), where=WHERE)

    def _require_stepper(self) -> PrecisionStepper:
        if self.stepper is None:
            raise ConfigError("the callback was given no model", where=WHERE,
                              fix="pass it in transformers.Trainer(callbacks=[...])")
        return self.stepper

    def _set(self, step: int) -> None:
        stepper = self._require_stepper()
        if stepper.total_steps is not None and step < stepper.total_steps:  # the last update sets nothing after
            stepper.set_step(step)

    def _publish(self, state: TrainerState) -> None:
        """Point the TrainerState at the live state: O(1) per step, serialised only when a checkpoint is
        written (``TrainerState.save_to_json`` copies it then)."""
        stepper = self._require_stepper()
        assert isinstance(state.stateful_callbacks, dict)  # TrainerState.__post_init__ makes it one
        state.stateful_callbacks[STATE_KEY] = {"schedule": self._schedule_state, "total_steps": stepper.total_steps,
                                               "history": stepper.history}

    def _resume(self, state: TrainerState) -> None:
        # TrainerState types the field as a list of callbacks; __post_init__ and load_from_json make it a dict
        stored: Any = state.stateful_callbacks or {}
        saved = stored.get(STATE_KEY)
        if saved is None:
            logger.warning("%s: the checkpoint at step %d holds no schedule state (it was trained without this "
                           "callback); the schedule continues from that step", WHERE, state.global_step)
            return
        self._require_stepper().load_state_dict(saved)

    def __repr__(self) -> str:
        return f"CyclicPrecisionCallback({self.schedule.label}, stepper={self.stepper!r})"
