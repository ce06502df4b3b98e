"""Lightning: a ``Callback`` runs the schedule, the ``LightningModule`` stays as it is.

::

    from cpt_search.integrations.lightning import CyclicPrecision

    precision = CyclicPrecision("best.yaml")
    trainer = lightning.Trainer(max_epochs=5, accumulate_grad_batches=4, callbacks=[precision])
    trainer.fit(module, loader)            # precision.history: the (step, bits, grad_bits) applied

Where each piece sits in Lightning's run (``Trainer._run``, lightning 2.6):

- ``setup``: the module is quantized here because it is the one hook before a checkpoint's weights
  are restored, so a resumed run loads the quantizers' activation ranges into quantized layers.
  Layers a module creates later, in ``configure_model``, are not seen (build them in ``__init__``).
- ``on_train_start``: the total comes from ``trainer.estimated_stepping_batches`` (optimizer steps:
  batches over ``accumulate_grad_batches`` per epoch, capped by ``max_steps``), known only once the
  train loader is set up; an infinite or unknown count is refused in one line.
- ``on_train_batch_start``: ``trainer.global_step`` counts optimizer steps, so every micro-batch of
  an accumulation window reads the same value and sets the same bits (one ``history`` entry).
- ``state_dict`` / ``load_state_dict``: Lightning stores the callback's state in the checkpoint
  under ``callbacks``; a run resumed with ``ckpt_path`` continues the history and refuses another
  schedule or another step count.

Limits: the callback is a ``lightning.pytorch`` one (a ``pytorch_lightning.Trainer``, the older
package name, refuses it); with manual optimization and several optimizers ``global_step`` counts
every optimizer's steps, which ``estimated_stepping_batches`` does not, and the run is refused at
the first step past the schedule.

Evaluation (validation, test, the sanity check) runs at the schedule's top bits: the stepper picks
them from the layers' ``eval()`` mode, which Lightning sets for every evaluation loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from cpt_search.errors import ConfigError
from cpt_search.extras import missing_dependency
from cpt_search.integrations.stepper import PrecisionStepper, StepBits, quantized, resolve_schedule
from cpt_search.quant import QuantConfig
from cpt_search.schedule import BitSchedule

try:
    import lightning.pytorch as pl
except ModuleNotFoundError as error:  # pragma: no cover - exercised by tests/integrations/test_extras.py
    raise (missing_dependency(error) or error) from None

__all__ = ["CyclicPrecision"]

WHERE = "CyclicPrecision"


class CyclicPrecision(pl.Callback):
    """Run a cyclic precision schedule over a Lightning ``Trainer``'s optimizer steps.

    Args:
        schedule: a :class:`~cpt_search.schedule.Schedule`, the path of an exported schedule file
            (``cpt-search export``), or a schedule mapping.
        config: what to quantize (default :class:`~cpt_search.quant.QuantConfig`: the last layer,
            usually the classifier, stays FP32).

    Attributes:
        schedule: the schedule.
        stepper: the :class:`~cpt_search.integrations.stepper.PrecisionStepper` (``None`` before
            ``setup``); ``stepper.handle`` holds the quantized layers.

    Raises:
        ConfigError: a schedule that cannot be read (here); at ``trainer.fit``, a trainer whose
            total optimizer steps are unknown or infinite, too few steps for the schedule, or a
            checkpoint trained under another schedule or step count.
    """

    def __init__(self, schedule: BitSchedule | str | Path | Mapping[str, Any], *,
                 config: QuantConfig | None = None) -> None:
        self.schedule = resolve_schedule(schedule, where=WHERE)  # a bad file fails before any training
        self.config = config
        self.stepper: PrecisionStepper | None = None
        self._pending_state: Mapping[str, Any] | None = None

    @property
    def history(self) -> list[StepBits]:
        """Every ``(step, bits, grad_bits)`` applied, in order (restored on resume)."""
        return self.stepper.history if self.stepper is not None else []

    # ------------------------------------------------------------------ hooks

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.stepper is not None and self.stepper.handle.model is pl_module:
            return  # trainer.test after trainer.fit: the same module, already stepping
        if self.stepper is not None:
            self.stepper.remove()
        self.stepper = PrecisionStepper(pl_module, self.schedule, handle=quantized(pl_module, self.config),
                                        where=WHERE)
        if self._pending_state is not None:
            self.stepper.load_state_dict(self._pending_state)
            self._pending_state = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        stepper = self._require_stepper()
        stepper.start(_total_optimizer_steps(trainer))
        self._set(trainer.global_step)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self._set(trainer.global_step)

    def _set(self, step: int) -> None:
        stepper = self._require_stepper()
        assert stepper.total_steps is not None  # started in on_train_start
        if step < stepper.total_steps:  # a resumed run that had finished steps nothing more
            stepper.set_step(step)

    def _require_stepper(self) -> PrecisionStepper:
        if self.stepper is None:
            raise ConfigError("the callback was not set up by a Trainer", where=WHERE,
                              fix="pass it in lightning.Trainer(callbacks=[...]) before fit")
        return self.stepper

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """The stepper's state (schedule, step count, history) for Lightning's checkpoint."""
        return self.stepper.state_dict() if self.stepper is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue the run a checkpoint saved (called by Lightning when fitting with ``ckpt_path``)."""
        if self.stepper is None:  # restored before setup: applied once the module is quantized
            self._pending_state = state_dict
        else:
            self.stepper.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return f"CyclicPrecision({self.schedule.label}, stepper={self.stepper!r})"


def _total_optimizer_steps(trainer: pl.Trainer) -> int:
    """The trainer's optimizer steps over the whole fit, or a one-line error when it cannot say."""
    total = trainer.estimated_stepping_batches
    if total == float("inf") or total is None or int(total) <= 0:
        raise ConfigError("the trainer's total optimizer steps are unknown or infinite, and the schedule "
                          "is laid out over them", where=f"{WHERE} (trainer.estimated_stepping_batches)",
                          key="total_steps", value=total,
                          fix="give lightning.Trainer max_steps=N, or max_epochs with a train DataLoader "
                              "that has a length")
    return int(total)
