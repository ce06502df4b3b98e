"""What a task is: data + model + loss + evaluation, with named budgets.

A task supplies the pieces; :func:`cpt_search.training.run_trial` owns the loop (setting the
scheduled bits before each optimizer step, recording them, checking for divergence, counting
bit operations), so every task gets the same precision handling. A concrete task is one small module
(like torch-geometric's ``examples/gcn.py``) subclassing :class:`Task`; its metadata (name, metric,
dataset, budgets) is a :class:`~cpt_search.tasks.info.TaskInfo`, readable without torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Iterator, Mapping, TypeVar, cast

from cpt_search.data.options import DataOptions
from cpt_search.tasks.budgets import Budget
from cpt_search.tasks.info import TaskInfo

if TYPE_CHECKING:  # torch stays out of `import cpt_search.tasks` until a task runs
    import torch

BUDGET_NAMES = ("tiny", "default", "paper")  # the built-in tasks' budgets


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating a model.

    A search selects on the validation split and reports the test split apart (selecting on test
    data reports an optimistic front), so ``metric`` is always the validation figure.

    Attributes:
        metric: the task's validation metric, the search objective (accuracy, or bits per
            character for the language model).
        accuracy: validation accuracy when the task has one, else ``None``.
        test_metric: the same metric on the held-out test split (``None``: the task has none);
            recorded and shown, never used to select.
    """

    metric: float
    accuracy: float | None
    test_metric: float | None = None


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


BudgetT = TypeVar("BudgetT", bound=Budget)


class Task(ABC, Generic[BudgetT]):
    """A task: subclasses implement the methods; the metadata comes from its :class:`TaskInfo`.

    ``Task[GraphBudget]`` says which kind of budget the methods receive (a plain ``Task`` subclass
    takes any :class:`Budget`).

    Attributes:
        info: the registry entry (name, dataset, metric and direction, budgets).
        quantize_first_layer, quantize_last_layer: which end layers run at the scheduled bits.
    """

    quantize_first_layer: ClassVar[bool] = True
    quantize_last_layer: ClassVar[bool] = False
    _is_cpt_search_task: ClassVar[bool] = True  # what an import string is checked for

    def __init__(self, info: TaskInfo) -> None:
        self.info = info

    @property
    def name(self) -> str:
        """The registry name."""
        return self.info.name

    @property
    def dataset(self) -> str | None:
        """The dataset name (``None``: the task brings its own data)."""
        return self.info.dataset

    @property
    def metric_name(self) -> str:
        """What :meth:`evaluate`'s ``Evaluation.metric`` measures."""
        return self.info.metric_name

    @property
    def test_metric_name(self) -> str | None:
        """What ``Evaluation.test_metric`` measures (``None``: the task has no test split)."""
        return self.info.test_metric_name

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction."""
        return self.info.higher_is_better

    @property
    def budgets(self) -> Mapping[str, BudgetT]:
        """The named budgets."""
        return cast(Mapping[str, BudgetT], self.info.budgets)

    def budget(self, name: str, overrides: Mapping[str, Any] | None = None) -> BudgetT:
        """The budget called ``name`` with some fields replaced (:meth:`TaskInfo.budget`)."""
        return cast(BudgetT, self.info.budget(name, overrides))

    def quant_config(self):
        """The :class:`cpt_search.quant.QuantConfig` the runner applies to this task's model."""
        from cpt_search.quant import QuantConfig

        return QuantConfig(quantize_first_layer=self.quantize_first_layer,
                           quantize_last_layer=self.quantize_last_layer, quantize_grads=True)

    @abstractmethod
    def prepare(self, budget: BudgetT, options: DataOptions, device: "torch.device") -> Prepared:
        """Load the data onto ``device`` and build the model (seeded by the caller)."""

    @abstractmethod
    def make_optimizer(self, model: "torch.nn.Module", budget: BudgetT, total_steps: int):
        """``(optimizer, lr_scheduler or None)``; the scheduler is stepped after every step."""

    @abstractmethod
    def batches(self, prepared: Prepared, budget: BudgetT,
                generator: "torch.Generator") -> Iterator[Any]:
        """One epoch of training batches, exactly ``prepared.steps_per_epoch`` of them."""

    @abstractmethod
    def loss(self, model: "torch.nn.Module", batch: Any) -> "torch.Tensor":
        """The training loss of one batch (the model is in train mode)."""

    def clip_gradients(self, model: "torch.nn.Module", budget: BudgetT) -> None:
        """Called between ``backward()`` and the optimizer step; no-op unless a task clips."""

    @abstractmethod
    def evaluate(self, model: "torch.nn.Module", prepared: Prepared, budget: BudgetT) -> Evaluation:
        """The metric on the validation split and, if the task has one, on the test split (the model
        is in eval mode, no grad)."""
