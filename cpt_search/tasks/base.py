"""What a task is: data + model + loss + evaluation, with named budgets.

A task supplies the pieces; :func:`cpt_search.training.run_trial` owns the loop (setting the
scheduled bits before each optimizer step, recording them, checking for divergence, counting
bit operations), so every task gets the same precision handling. A concrete task is one small module
(like torch-geometric's ``examples/gcn.py``) subclassing :class:`Task`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping

from cpt_search.data import DataOptions
from cpt_search.errors import ConfigError
from cpt_search.registry import Registry

if TYPE_CHECKING:  # torch stays out of `import cpt_search.tasks` until a task runs
    import torch

BUDGET_NAMES = ("tiny", "default", "paper")


@dataclass(frozen=True)
class Budget:
    """Training length and optimiser knobs shared by every task; tasks extend it.

    Attributes:
        epochs: passes over the training data (for full-batch graphs: optimizer steps).
        eval_every: evaluate (and report an epoch record) every this many epochs and after the
            last; a full-batch graph has one step per epoch, so evaluating each would dominate.
    """

    epochs: int
    eval_every: int = dataclasses.field(default=1, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for logs and trial records."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating a model.

    Attributes:
        metric: the task's metric (accuracy, or bits per character for the language model).
        accuracy: classification accuracy when the task has one, else ``None``.
    """

    metric: float
    accuracy: float | None


@dataclass
class Prepared:
    """One trial's data and model, ready for the runner (mutable: it holds live tensors).

    Attributes:
        data: whatever the task's other methods need (tensors on the trial's device).
        model: the network, on the device, not yet quantized.
        example_inputs: positional inputs of one sample (batch of one), for counting MACs.
        steps_per_epoch: optimizer steps in one epoch (known up front: ``drop_last`` batching).
        samples_per_step: samples in every step (batch size; 1 for a full-batch graph).
    """

    data: Any
    model: "torch.nn.Module"
    example_inputs: tuple
    steps_per_epoch: int
    samples_per_step: int


class Task(ABC):
    """A registered task; subclasses set the class attributes and implement the methods.

    Attributes:
        name: registry name, ``"<dataset>/<model>"``.
        dataset: the dataset name in :data:`cpt_search.data.DATASETS`.
        metric_name: what ``Evaluation.metric`` measures (``"test_accuracy"``, ``"val_bpc"``).
        higher_is_better: the metric's direction.
        budgets: ``tiny`` (tests, seconds), ``default`` (CPU searches), ``paper`` (the papers', GPU).
        quantize_first_layer, quantize_last_layer: which end layers run at the scheduled bits.
    """

    name: ClassVar[str]
    dataset: ClassVar[str]
    metric_name: ClassVar[str] = "test_accuracy"
    higher_is_better: ClassVar[bool] = True
    budgets: ClassVar[Mapping[str, Budget]]
    quantize_first_layer: ClassVar[bool] = True
    quantize_last_layer: ClassVar[bool] = False

    def budget(self, name: str, overrides: Mapping[str, Any] | None = None) -> Budget:
        """The budget called ``name``, with some fields replaced by ``overrides``.

        Raises:
            UnknownNameError: unknown budget name (with a suggestion).
            ConfigError: an override names no field of this task's budget.
        """
        registry: Registry[Budget] = Registry("budget")
        for key, value in self.budgets.items():
            registry.register(key, value)
        budget = registry.get(name, where=f"task {self.name}", key="budget")
        if not overrides:
            return budget
        fields = [f.name for f in dataclasses.fields(budget)]
        for key in overrides:
            if key not in fields:
                raise ConfigError("unknown budget field", where=f"task {self.name}", key=str(key),
                                  fix=f"use fields from: {', '.join(fields)}")
        return dataclasses.replace(budget, **overrides)

    def quant_config(self):
        """The :class:`cpt_search.quant.QuantConfig` the runner applies to this task's model."""
        from cpt_search.quant import QuantConfig

        return QuantConfig(quantize_first_layer=self.quantize_first_layer,
                           quantize_last_layer=self.quantize_last_layer, quantize_grads=True)

    @abstractmethod
    def prepare(self, budget: Budget, options: DataOptions, device: "torch.device") -> Prepared:
        """Load the data onto ``device`` and build the model (seeded by the caller)."""

    @abstractmethod
    def make_optimizer(self, model: "torch.nn.Module", budget: Budget, total_steps: int):
        """``(optimizer, lr_scheduler or None)``; the scheduler is stepped after every step."""

    @abstractmethod
    def batches(self, prepared: Prepared, budget: Budget,
                generator: "torch.Generator") -> Iterator[Any]:
        """One epoch of training batches, exactly ``prepared.steps_per_epoch`` of them."""

    @abstractmethod
    def loss(self, model: "torch.nn.Module", batch: Any) -> "torch.Tensor":
        """The training loss of one batch (the model is in train mode)."""

    def clip_gradients(self, model: "torch.nn.Module", budget: Budget) -> None:
        """Called between ``backward()`` and the optimizer step; no-op unless a task clips."""

    @abstractmethod
    def evaluate(self, model: "torch.nn.Module", prepared: Prepared, budget: Budget) -> Evaluation:
        """The task's metric on its evaluation split (the model is in eval mode, no grad)."""
