"""A training function: the user keeps their own loop, cpt_search sets the bits and counts the cost.

::

    @cpt_search.training_function(metric="val_accuracy", total_steps=lambda budget: 20 * 44)
    def train(ctx: cpt_search.TrialContext) -> None:
        model, optimizer = ..., ...
        ctx.quantize(model, example_batch)          # fake quantization + MAC count, before any step
        ctx.attach(optimizer)                       # the scheduled bits follow optimizer.step()
        for epoch in range(1, epochs + 1):
            ...                                     # the user's loop, unchanged
            ctx.report(epoch=epoch, metric=val_acc, test_metric=test_acc)

``task: my_module:train`` in a space file searches it. Everything the search needs before training
is declared on the decorator: the metric's name and direction, the test metric reported beside it,
and the optimizer steps of a training (``total_steps``: an int, or a function of the space's
``budget:`` value), so a schedule's cost is exact and constraints hold before the first trial runs.
This module is torch-free (the space loader reads it); the trial side is
:mod:`cpt_search.training.function_runner`.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from cpt_search.errors import ConfigError
from cpt_search.tasks.budgets import Budget
from cpt_search.tasks.info import TaskInfo

BudgetValue = str | Mapping[str, Any]
"""A space's ``budget:`` as a training function receives it: a name, or a mapping of knobs."""

StepsSpec = int | Callable[[BudgetValue], int] | None
"""``total_steps`` of the decorator: a count, a function of the budget value, or unknown."""

_WHERE = "@training_function"


class TrainingFunction:
    """A user's training function and what the search knows about it up front (what
    :func:`training_function` returns; calling it calls the function).

    Attributes:
        function: the user's function, taking one :class:`~cpt_search.TrialContext`.
        metric_name: the validation metric its ``ctx.report(metric=...)`` gives (the objective).
        higher_is_better: the metric's direction.
        test_metric_name: the metric of ``ctx.report(test_metric=...)`` (``None``: no test split).
        steps: the ``total_steps`` declared on the decorator.
    """

    _is_cpt_search_training_function = True  # what an import string is checked for

    def __init__(self, function: Callable[[Any], Any], *, metric_name: str, higher_is_better: bool,
                 test_metric_name: str | None, steps: StepsSpec) -> None:
        self.function = function
        self.metric_name = metric_name
        self.higher_is_better = higher_is_better
        self.test_metric_name = test_metric_name
        self.steps = steps
        self.__qualname__: str = getattr(function, "__qualname__", type(function).__name__)
        functools.update_wrapper(self, function)

    def __call__(self, ctx: Any) -> Any:
        return self.function(ctx)

    def total_steps(self, budget: BudgetValue, *, where: str | None = None) -> int | None:
        """The optimizer steps of one training under ``budget`` (``None``: not declared).

        Raises:
            ConfigError: ``total_steps`` raised or gave something other than a positive integer.
        """
        if self.steps is None:
            return None
        place = where or f"{_WHERE} {self.__qualname__}"
        if callable(self.steps):
            try:
                steps = self.steps(budget)
            except Exception as error:  # noqa: BLE001 - the user's function: show its error in one line
                line = " ".join(str(error).split())[:200]
                raise ConfigError(f"total_steps({budget!r}) raised {type(error).__name__}: {line}",
                                  where=place, key="total_steps",
                                  fix="make total_steps accept every budget the space uses") from None
        else:
            steps = self.steps
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ConfigError(f"total_steps({budget!r}) must give a positive integer (the optimizer "
                              "steps of a training)",
                              where=place, key="total_steps", value=steps,
                              fix="return e.g. epochs * (train_samples // batch_size)")
        return int(steps)

    def __repr__(self) -> str:
        return f"training_function({self.__module__}:{self.__qualname__}, metric={self.metric_name!r})"


def training_function(function: Callable[[Any], Any] | None = None, *, metric: str = "val_accuracy",
                      higher_is_better: bool = True, test_metric: str | None = None,
                      total_steps: StepsSpec = None) -> Any:
    """Declare a training function that cpt_search can search (``task: module:function``).

    The function takes one :class:`~cpt_search.TrialContext` (schedule, seed, budget, device,
    threads, data_dir), calls ``ctx.quantize(model, example_batch)`` and ``ctx.attach(optimizer)``
    before its first optimizer step and ``ctx.report(epoch=..., metric=...)`` after each evaluation;
    the last report is the trial's result.

    Args:
        function: the function (when used as ``@training_function`` without parentheses).
        metric: the name of the validation metric reported (the search objective).
        higher_is_better: the metric's direction.
        test_metric: the name of the test metric reported beside it, or ``None``.
        total_steps: optimizer steps of one training: an int, or a function of the space's
            ``budget:`` value (a name or a mapping). Declared, the cost of every schedule is exact
            before training and ``ctx.quantize`` checks the loop against it; left out, costs before
            training use the nominal step count and ``ctx.quantize`` must be given the count.

    Raises:
        ConfigError: a metric name, direction or ``total_steps`` of the wrong type.
    """
    if not isinstance(metric, str) or not metric:
        raise ConfigError("metric must name the metric the function reports", where=_WHERE, key="metric",
                          value=metric, fix='use e.g. metric="val_accuracy"')
    if not isinstance(higher_is_better, bool):
        raise ConfigError("higher_is_better must be True or False", where=_WHERE, key="higher_is_better",
                          value=higher_is_better, fix="use a bool")
    if test_metric is not None and (not isinstance(test_metric, str) or test_metric in ("", metric)):
        raise ConfigError("test_metric must be a name other than metric", where=_WHERE, key="test_metric",
                          value=test_metric, fix='use e.g. test_metric="test_accuracy", or leave it out')
    if total_steps is not None and not callable(total_steps) and (
            isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 1):
        raise ConfigError("total_steps must be a positive integer or a function of the budget",
                          where=_WHERE, key="total_steps", value=total_steps,
                          fix="use e.g. total_steps=lambda budget: budget['epochs'] * 44")

    def wrap(fn: Callable[[Any], Any]) -> TrainingFunction:
        if not callable(fn) or isinstance(fn, TrainingFunction):
            raise ConfigError("@training_function decorates a function taking one TrialContext",
                              where=_WHERE, value=type(fn).__name__,
                              fix="put it on 'def train(ctx): ...'")
        return TrainingFunction(fn, metric_name=metric, higher_is_better=higher_is_better,
                                test_metric_name=test_metric, steps=total_steps)

    return wrap if function is None else wrap(function)


def is_training_function(obj: Any) -> bool:
    """Whether ``obj`` was made by :func:`training_function`."""
    return bool(getattr(type(obj), "_is_cpt_search_training_function", False))


@dataclass(frozen=True)
class FunctionTaskInfo(TaskInfo):
    """The :class:`TaskInfo` of a training function: its budget is the space's value, passed through.

    A function has no named budgets: whatever ``budget:`` holds (a name, or a mapping of scalars and
    lists) is handed to the function as ``ctx.budget``, and its ``total_steps`` turns it into steps.
    """

    function: TrainingFunction | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:  # no named budgets to check
        pass

    @property
    def budget_names(self) -> list[str]:
        """Any name is passed through; ``default`` is what a space without ``budget:`` gives."""
        return ["default"]

    def budget(self, name: Any, overrides: Mapping[str, Any] | None = None, *,
               where: str | None = None, key: str = "budget") -> Any:
        """The budget value itself, checked (with ``overrides`` merged into a mapping budget)."""
        value = check_budget_value(name, where=where or f"task {self.name}", key=key)
        if overrides:
            base = {} if isinstance(value, str) else dict(value)
            value = {**base, **dict(overrides)}
        return value

    def check_budget(self, name: Any, *, where: str | None = None, key: str = "budget") -> Any:
        """:meth:`budget`: a name or a mapping, else one line naming ``where``/``key``."""
        return self.budget(name, where=where, key=key)

    def total_steps(self, budget: Any) -> int | None:
        """The steps the function's ``total_steps`` declares for ``budget`` (``None``: undeclared)."""
        assert self.function is not None
        return self.function.total_steps(budget, where=f"task {self.name}")

    def load(self) -> Any:
        """The training function (already imported)."""
        return self.function

    @classmethod
    def from_function(cls, function: TrainingFunction, *, factory: str) -> "FunctionTaskInfo":
        """The metadata of a decorated function named by the import string ``factory``."""
        return cls(name=factory, dataset=None, metric_name=function.metric_name,
                   higher_is_better=function.higher_is_better, budgets={"default": Budget(epochs=1)},
                   factory=factory, test_metric_name=function.test_metric_name,
                   summary=(function.__doc__ or "").strip().split("\n")[0], function=function)


def check_budget_value(value: Any, *, where: str, key: str = "budget") -> BudgetValue:
    """A training function's budget: a non-empty name, or a mapping from names to plain values
    (numbers, strings, booleans, ``None`` and lists of them), so that it can be recorded and compared
    on a resume."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str) or not _plain(item):
                raise ConfigError("a budget mapping holds names and plain values (numbers, strings, "
                                  "booleans, lists)", where=where, key=f"{key}.{name}", value=item,
                                  fix="write e.g. 'budget: {epochs: 20, lr: 0.01}'")
        return dict(value)
    raise ConfigError("a budget is a name or a mapping of knobs", where=where, key=key, value=value,
                      fix="write e.g. 'budget: default' or 'budget: {epochs: 20, lr: 0.01}'")


def budget_label(value: Any) -> str:
    """A budget as one short word for logs and tables: the name, or ``k=v,...`` of a mapping."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "{}"
    return str(value)


def _plain(item: Any) -> bool:
    if item is None or isinstance(item, (str, bool, numbers.Integral)):
        return True
    if isinstance(item, numbers.Real):
        return math.isfinite(float(item))
    if isinstance(item, (list, tuple)):
        return all(_plain(x) for x in item)
    return False


__all__ = ["BudgetValue", "FunctionTaskInfo", "TrainingFunction", "budget_label", "check_budget_value",
           "is_training_function", "training_function"]
