"""What is known about a task without importing torch: its name, metric, dataset, budgets, steps.

:class:`TaskInfo` is the registry entry of a task (:data:`cpt_search.tasks.TASKS`). Validating a
search space, checking a budget, computing exact costs and preparing the dataset need only this; the
task itself (data, model, loss: torch) is built on demand by :meth:`TaskInfo.load` from an import
string, the way Ray Tune's table of searchers imports each one only when it is used.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from cpt_search.errors import ConfigError
from cpt_search.registry import Registry
from cpt_search.tasks.budgets import Budget

if TYPE_CHECKING:  # torch stays out of `import cpt_search.tasks` until a task runs
    from cpt_search.tasks.base import Task

DEFAULT_BUDGET = "default"


@dataclass(frozen=True)
class TaskInfo:
    """A task's metadata and how to build it.

    Attributes:
        name: registry name, ``"<dataset>/<model>"`` for the built-in tasks.
        dataset: the dataset name in :data:`cpt_search.data.DATASETS` (``None``: the task brings its
            own data).
        metric_name: what the task's evaluation measures on its validation split, the search
            objective (``"val_accuracy"``, ``"val_bpc"``).
        higher_is_better: the metric's direction.
        test_metric_name: the same metric on the test split (``"test_accuracy"``), reported beside
            the objective and never selected on; ``None``: the task has no test split.
        budgets: named budgets; ``default`` is required, others (``tiny``, ``paper``) are optional.
        train_size: training samples of the dataset (batch tasks: gives the exact steps per epoch).
        factory: ``"module:attribute"`` of the :class:`~cpt_search.tasks.base.Task` subclass.
        args: positional arguments of the factory after the info itself.
        summary: one line for listings.
    """

    name: str
    dataset: str | None
    metric_name: str
    higher_is_better: bool
    budgets: Mapping[str, Budget]
    factory: str
    train_size: int | None = None
    test_metric_name: str | None = None
    args: tuple[Any, ...] = ()
    summary: str = ""
    _loaded: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if DEFAULT_BUDGET not in self.budgets:
            raise ConfigError("a task needs a 'default' budget", where=f"task {self.name}",
                              key="budgets", value=sorted(self.budgets),
                              fix="add budgets['default'] (others such as 'tiny' are optional)")

    @property
    def budget_names(self) -> list[str]:
        """The task's budget names, in declaration order."""
        return list(self.budgets)

    def budget(self, name: str, overrides: Mapping[str, Any] | None = None, *,
               where: str | None = None, key: str = "budget") -> Budget:
        """The budget called ``name``, with some fields replaced by ``overrides``.

        Raises:
            UnknownNameError: unknown budget name (with a suggestion).
            ConfigError: an override names no field of this task's budget.
        """
        registry: Registry[Budget] = Registry("budget")
        for budget_name, value in self.budgets.items():
            registry.register(budget_name, value)
        budget = registry.get(name, where=where or f"task {self.name}", key=key)
        if not overrides:
            return budget
        fields = [f.name for f in dataclasses.fields(budget)]
        for field_name in overrides:
            if field_name not in fields:
                raise ConfigError("unknown budget field", where=where or f"task {self.name}",
                                  key=str(field_name), fix=f"use fields from: {', '.join(fields)}")
        return dataclasses.replace(budget, **overrides)

    def check_budget(self, name: str, *, where: str | None = None, key: str = "budget") -> Budget:
        """:meth:`budget` without overrides: an unknown name is one line naming ``where``/``key``."""
        return self.budget(name, where=where, key=key)

    def total_steps(self, budget: str | Budget) -> int | None:
        """Optimizer steps of a training under ``budget``, or ``None`` when only the data can tell."""
        value = self.budget(budget) if isinstance(budget, str) else budget
        per_epoch = value.epoch_steps(self.train_size)
        return None if per_epoch is None else value.epochs * per_epoch

    @classmethod
    def from_task_class(cls, task_class: type, *, factory: str, instance: Any = None,
                        where: str | None = None) -> "TaskInfo":
        """The metadata a user's :class:`~cpt_search.tasks.base.Task` subclass declares as class
        attributes: ``metric_name`` and ``budgets`` (with ``default``) are required; ``name``
        (default: the import string), ``higher_is_better`` (``True``), ``test_metric_name``
        (``None``: no test split), ``dataset`` (``None``: the task loads its own data) and
        ``train_size`` are optional."""
        place = where or factory
        attrs = {name: getattr(task_class, name, None) for name in (
            "name", "metric_name", "higher_is_better", "budgets", "dataset", "train_size",
            "test_metric_name")}
        # The Task base class reads these from its info through properties: unset, not values.
        attrs = {k: None if isinstance(v, property) else v for k, v in attrs.items()}
        name = attrs["name"] if isinstance(attrs["name"], str) else factory
        metric_name = attrs["metric_name"]
        if not isinstance(metric_name, str) or not metric_name:
            raise ConfigError("a task class must set metric_name (the metric its evaluate() returns)",
                              where=place, key="metric_name", value=metric_name,
                              fix='add e.g. metric_name = "val_accuracy" to the class')
        test_metric_name = attrs["test_metric_name"]
        if test_metric_name is not None and (not isinstance(test_metric_name, str)
                                             or test_metric_name in ("", metric_name)):
            raise ConfigError("test_metric_name must be a name other than metric_name",
                              where=place, key="test_metric_name", value=test_metric_name,
                              fix='use e.g. test_metric_name = "test_accuracy", or leave it out')
        higher = True if attrs["higher_is_better"] is None else attrs["higher_is_better"]
        if not isinstance(higher, bool):
            raise ConfigError("higher_is_better must be True or False", where=place,
                              key="higher_is_better", value=higher, fix="use a bool")
        budgets = attrs["budgets"]
        if not isinstance(budgets, Mapping) or not all(
                isinstance(k, str) and isinstance(v, Budget) for k, v in budgets.items()):
            raise ConfigError("a task class must set budgets: a mapping of names to Budget objects",
                              where=place, key="budgets", value=type(budgets).__name__,
                              fix="add e.g. budgets = {'default': Budget(epochs=10)} "
                                  "(cpt_search.tasks.budgets)")
        info = cls(name=name, dataset=attrs["dataset"], metric_name=metric_name,
                   higher_is_better=higher, budgets=dict(budgets), factory=factory,
                   train_size=attrs["train_size"], test_metric_name=test_metric_name)
        if instance is not None:
            instance.info = info
            info._loaded["task"] = instance
        return info

    def load(self) -> Task:
        """The task object (imports its module, and torch, on first use; cached)."""
        task = self._loaded.get("task")
        if task is None:
            module_name, _, attribute = self.factory.partition(":")
            factory = getattr(importlib.import_module(module_name), attribute)
            task = factory(self, *self.args)
            self._loaded["task"] = task
        return task
