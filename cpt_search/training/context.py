"""What a training function sees of its trial: :class:`TrialContext`.

The function (:func:`cpt_search.training_function`) owns its loop; the context does what
:func:`cpt_search.training.run_trial` does around a task's loop, in three calls:

* ``ctx.quantize(model, example_batch)`` swaps the model's layers for fake-quantized twins, counts
  the MACs of one training batch and evaluates the schedule over the training's optimizer steps, so
  the trial's BitOPs are known before its first step (docs/method.md §2: per-layer MACs times the
  per-step bit products);
* ``ctx.attach(optimizer)`` puts the schedule on ``optimizer.step()``
  (:func:`cpt_search.apply_schedule`'s step hook, so the loop is unchanged) and runs evaluation
  forwards (``model.eval()``) at the schedule's upper bounds, as the search's own loop does;
* ``ctx.report(epoch=..., metric=..., test_metric=...)`` after each evaluation; the last report is
  the result.

torch is imported by the methods, not by this module.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from cpt_search.costs import LayerMacs, training_bitops
from cpt_search.errors import ConfigError
from cpt_search.schedule import BitSchedule
from cpt_search.training.errors import TrialDiverged
from cpt_search.training.records import EpochRecord

if TYPE_CHECKING:
    import torch

    from cpt_search.integrations.pytorch import ScheduledOptimizer
    from cpt_search.quant import QuantConfig, QuantHandle


class StopTraining(Exception):
    """Raised by :meth:`TrialContext.report` when a hook asked the trial to stop (caught by the
    function runner; a user's loop never needs to catch it)."""


class TrialContext:
    """One trial of a training function: what to train with, and the three calls that train it.

    Attributes:
        schedule: the precision schedule of this trial (any :class:`~cpt_search.schedule.BitSchedule`).
        seed: the trial's seed (Python, numpy and torch are already seeded with it).
        budget: the space's ``budget:`` value, passed through: a name (``"default"``) or a mapping.
        device: the ``torch.device`` to train on.
        threads: torch threads the trial was given (already set), or ``None``.
        data_dir: the data root the search prepared (``--data-dir``, ``$CPT_SEARCH_DATA``), or
            ``None``; read your files from here if they live there.
        download: whether the search allows dataset downloads (``--download``).
        handle: the :class:`~cpt_search.quant.QuantHandle` after :meth:`quantize`, else ``None``.
    """

    def __init__(self, *, schedule: BitSchedule, seed: int, budget: Any, device: "torch.device",
                 threads: int | None, data_dir: str | None, download: bool = False,
                 declared_steps: int | None = None, on_report: Callable[[EpochRecord], None] | None = None,
                 where: str = "training function") -> None:
        self.schedule = schedule
        self.seed = seed
        self.budget = budget
        self.device = device
        self.threads = threads
        self.data_dir = data_dir
        self.download = download
        self.handle: QuantHandle | None = None
        self.records: list[EpochRecord] = []
        self.layers: list[LayerMacs] = []
        self.samples_per_step = 0
        self._declared_steps = declared_steps
        self._total_steps: int | None = None
        self._bits = np.zeros(0, dtype=np.int64)
        self._grad_bits = np.zeros(0, dtype=np.int64)
        self._stepper: ScheduledOptimizer | None = None
        self._on_report = on_report
        self._where = where
        self._started = time.perf_counter()

    # ------------------------------------------------------------------ the three calls

    def quantize(self, model: "torch.nn.Module", example_inputs: Any, total_steps: int | None = None, *,
                 config: "QuantConfig | None" = None, batch_size: int | None = None) -> "QuantHandle":
        """Fake-quantize ``model`` in place, count its MACs and fix the training's step count.

        Args:
            model: the network on :attr:`device` (build the optimizer before or after: parameters
                are kept).
            example_inputs: one training batch as the model takes it (a tensor, or a tuple of
                positional inputs); the MACs of one optimizer step are counted on it.
            total_steps: optimizer steps of the whole training; default: the decorator's
                ``total_steps`` for :attr:`budget` (given both, they must agree).
            config: what to quantize (default: every Linear / Conv2d but the last layer, as in both
                papers).
            batch_size: samples in ``example_inputs`` (default: dim 0 of its first tensor).

        Returns:
            The quantization handle.

        Raises:
            ConfigError: called twice, no step count, a count that disagrees with the declared one,
                or too few steps for the schedule's cycles.
        """
        from cpt_search.quant import QuantConfig, count_macs, quantize_

        if self.handle is not None:
            raise ConfigError("ctx.quantize was called twice", where=self._where, key="quantize",
                              fix="quantize the model once, before the first optimizer step")
        steps = self._resolve_steps(total_steps)
        self._bits, self._grad_bits = self.schedule.tracks(steps)  # ConfigError if too few steps
        self._total_steps = steps
        handle = quantize_(model, config or QuantConfig())
        inputs = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        handle.set_bits(int(self.schedule.max_bits), int(self.schedule.max_grad_bits))
        self.layers = count_macs(model, *inputs, handle=handle, batch_size=batch_size)
        self.samples_per_step = batch_size or _batch_size(inputs)
        handle.set_bits(int(self._bits[0]), int(self._grad_bits[0]))
        self.handle = handle
        return handle

    def attach(self, optimizer: Any) -> "ScheduledOptimizer":
        """Set the scheduled bits on every ``optimizer.step()`` (a step hook: the loop is unchanged),
        and evaluate at the schedule's upper bounds whenever the model is in ``eval()`` mode.

        Returns:
            The stepper (``history`` lists the ``(step, bits, grad_bits)`` applied).

        Raises:
            ConfigError: :meth:`quantize` was not called first, or ``attach`` was called twice.
        """
        from cpt_search.integrations.pytorch import ScheduledOptimizer

        if self.handle is None or self._total_steps is None:
            raise ConfigError("ctx.attach needs the quantized model", where=self._where, key="attach",
                              fix="call ctx.quantize(model, example_batch) before ctx.attach(optimizer)")
        if self._stepper is not None:
            raise ConfigError("ctx.attach was called twice", where=self._where, key="attach",
                              fix="attach the one optimizer that steps the model, once")
        model = self.handle.model
        self._stepper = ScheduledOptimizer(model, optimizer, self.schedule, self._total_steps,
                                           handle=self.handle)
        return self._stepper

    def report(self, *, epoch: int, metric: float, test_metric: float | None = None,
               loss: float | None = None, accuracy: float | None = None) -> None:
        """Record an evaluation: ``metric`` is the validation metric the decorator names (the search
        objective), ``test_metric`` the test metric reported beside it. The last report is the
        trial's result.

        Raises:
            ConfigError: a metric that is not a real number (e.g. a tensor: pass ``.item()``), or
                epochs that do not increase.
            TrialDiverged: a NaN or infinite metric (the search records the trial as failed).
        """
        epoch_number = _whole(epoch, "epoch", self._where)
        if self.records and epoch_number <= self.records[-1].epoch:
            raise ConfigError(f"epochs must increase (the last report was epoch {self.records[-1].epoch})",
                              where=self._where, key="epoch", value=epoch,
                              fix="report each evaluated epoch once, in order")
        values: dict[str, float | None] = {"metric": _real(metric, "metric", self._where)}
        for name, value in (("test_metric", test_metric), ("loss", loss), ("accuracy", accuracy)):
            values[name] = None if value is None else _real(value, name, self._where)
        for name in ("metric", "test_metric"):
            value = values[name]
            if value is not None and not math.isfinite(value):
                raise TrialDiverged(f"the reported {name} is {value}", where=self._where, key="epoch",
                                    value=epoch_number,
                                    fix="lower the learning rate or raise min_bits; a search records "
                                        "this trial as failed")
        done = self.steps_done
        bitops = self._bitops(done)
        record = EpochRecord(
            epoch=epoch_number, step=done, loss=math.nan if values["loss"] is None else values["loss"],
            metric=float(metric), accuracy=values["accuracy"],
            mean_bits_so_far=float(np.mean(self._bits[:done])) if done else math.nan,
            bitops_so_far=bitops, seconds=time.perf_counter() - self._started,
            test_metric=values["test_metric"])
        self.records.append(record)
        if self._on_report is not None:
            self._on_report(record)

    # ------------------------------------------------------------------ what the runner reads

    @property
    def total_steps(self) -> int | None:
        """Optimizer steps of the training (known once :meth:`quantize` ran, or declared)."""
        return self._total_steps if self._total_steps is not None else self._declared_steps

    @property
    def steps_done(self) -> int:
        """Optimizer steps taken so far (0 before :meth:`attach`)."""
        stepper = self._stepper
        if stepper is None or stepper.current_step is None:
            return 0
        return int(stepper.current_step) + (1 if stepper.finished else 0)

    @property
    def bits(self) -> tuple[np.ndarray, np.ndarray]:
        """The schedule's ``(bits, grad_bits)`` for every step of the training."""
        return self._bits, self._grad_bits

    def planned_bitops(self):
        """The :class:`~cpt_search.costs.BitopsReport` of the whole training (counted MACs times the
        schedule over ``total_steps``), known before the first step."""
        return training_bitops(self._bits, self._grad_bits, self.layers, self.samples_per_step)

    def _bitops(self, steps: int) -> float:
        if steps == 0 or not self.layers:
            return 0.0
        return training_bitops(self._bits[:steps], self._grad_bits[:steps], self.layers,
                               self.samples_per_step).bitops

    def _resolve_steps(self, given: int | None) -> int:
        declared = self._declared_steps
        if given is None:
            if declared is None:
                raise ConfigError("the number of optimizer steps is not known", where=self._where,
                                  key="total_steps",
                                  fix="pass ctx.quantize(model, batch, total_steps=...) or declare "
                                      "@training_function(total_steps=...)")
            return declared
        steps = _whole(given, "total_steps", self._where)
        if steps < 1:
            raise ConfigError("total_steps must be at least 1", where=self._where, key="total_steps",
                              value=given, fix="pass the optimizer steps of the whole training")
        if declared is not None and steps != declared:
            raise ConfigError(f"the decorator declares total_steps={declared} for budget {self.budget!r}",
                              where=self._where, key="total_steps", value=given,
                              fix="make @training_function(total_steps=...) and the loop agree")
        return steps


def _whole(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{key} must be an integer", where=where, key=key, value=value,
                          fix=f"pass a whole number as {key}")
    return int(value)


def _real(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"ctx.report({key}=...) must be a float", where=where, key=key,
                          value=f"{type(value).__name__} {_short(value)}",
                          fix="pass a Python number (for a tensor: float(t) or t.item())")
    return float(value)


def _short(value: Any) -> str:
    return " ".join(repr(value).split())[:60]


def _batch_size(inputs: tuple) -> int:
    import torch

    for value in inputs:
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return int(value.shape[0])
    raise ConfigError("cannot tell the batch size from the example inputs", where="ctx.quantize",
                      key="example_inputs", value=tuple(type(v).__name__ for v in inputs),
                      fix="pass batch_size=")


__all__ = ["StopTraining", "TrialContext"]
