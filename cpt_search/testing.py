"""The task contract, shipped in the package: check a user's task the way the built-in ones are checked.

As scikit-learn's ``check_estimator`` and optuna's ``optuna/testing/pytest_samplers.py`` do for
estimators and samplers, :func:`check_task` runs the contract on a user's task with a small budget
and reports every problem as one line::

    from cpt_search.testing import check_task

    def test_my_task():
        check_task("my_tasks:MyTask", budget="tiny").raise_for_problems()

``cpt-search check-task module:attribute`` runs the same checks from the command line.

For a :class:`~cpt_search.tasks.base.Task` subclass the checks, in order (a failed step stops the
ones that depend on it): the metadata (``metric_name``, ``budgets``), every abstract method
implemented, the budget, ``prepare()`` returning a sound ``Prepared``, the steps the metadata
declares against those ``prepare()`` reports, ``batches()`` giving exactly ``steps_per_epoch``
batches, ``loss()`` giving a finite scalar with a gradient, ``evaluate()`` giving a finite float
metric (and a test metric exactly when the task declares one), then a real training under a cycling
schedule. For a training function (:func:`cpt_search.training_function`): the declared
``total_steps`` for the budget, then a real training, whose contract checks (quantize, attach,
exactly ``total_steps`` optimizer steps, float and finite metrics, a report) run inside the trial.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from cpt_search.errors import CptSearchError
from cpt_search.tasks.function import FunctionTaskInfo, budget_label
from cpt_search.tasks.info import TaskInfo

REQUIRED_METHODS = ("prepare", "make_optimizer", "batches", "loss", "evaluate")


@dataclass(frozen=True)
class Problem:
    """One broken rule of the task contract.

    Attributes:
        check: which check found it (``"methods"``, ``"batches"``, ``"metric"``, ``"train"``...).
        message: one line: what is wrong, the value seen, how to fix it.
    """

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass
class TaskReport:
    """What :func:`check_task` found.

    Attributes:
        task: the task as named (an import string, or the object's qualified name).
        budget: the budget the checks trained with (as one word).
        problems: every broken rule, one line each (empty: the task passes).
        passed: the checks that passed, by name.
        notes: remarks that are not problems (e.g. no steps declared up front).
        result: the :class:`~cpt_search.training.TrialResult` of the check's training, if it ran.
        seconds: wall time of the checks.
    """

    task: str
    budget: str = ""
    problems: list[Problem] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: Any = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def raise_for_problems(self) -> "TaskReport":
        """Raise ``AssertionError`` listing every problem (for a pytest test); else return self."""
        if self.problems:
            raise AssertionError(f"task {self.task} breaks the task contract:\n"
                                 + "\n".join(f"  {p}" for p in self.problems))
        return self


class _Stop(Exception):
    """A check failed that later checks depend on."""


def check_task(task: Any, budget: str | Mapping[str, Any] | None = None, *,
               budget_overrides: Mapping[str, Any] | None = None, data_dir: str | None = None,
               device: str | None = "cpu", seed: int = 0, search_dirs: Sequence[str] = ()) -> TaskReport:
    """Run the task contract on ``task`` and report every problem in one line.

    Args:
        task: an import string ``"module:attribute"``, a registered task name, a ``Task`` subclass
            or instance, a ``@training_function``, or a ``TaskInfo``.
        budget: the budget to check with: a name (default ``tiny`` when the task has one, else
            ``default``), or a mapping for a training function.
        budget_overrides: budget fields to replace for the check (e.g. ``{"epochs": 1}``).
        data_dir: the data root (``--data-dir``).
        device: the torch device (default CPU).
        seed: the seed of the check's training.
        search_dirs: folders an import string is looked up in before ``sys.path``.

    Returns:
        The :class:`TaskReport` (``report.ok``; ``report.raise_for_problems()`` in a test).
    """
    started = time.perf_counter()
    report = TaskReport(task=task if isinstance(task, str) else _qualified(task))
    try:
        info, name = _resolve(task, report, search_dirs)
        if isinstance(info, FunctionTaskInfo):
            budget_value = _function_budget(info, budget, budget_overrides, report)
        else:
            budget_value = _class_checks(info, budget, budget_overrides, report, data_dir, device, seed)
        _train(info, name, budget_value, budget_overrides, report, data_dir, device, seed)
    except _Stop:
        pass
    report.seconds = time.perf_counter() - started
    return report


def _resolve(task: Any, report: TaskReport, search_dirs: Sequence[str]) -> tuple[TaskInfo, str]:
    from cpt_search.tasks.resolve import remember_resolved, resolve_task, task_info_from

    try:
        if isinstance(task, str):
            return resolve_task(task, where="check-task", key="task", search_dirs=search_dirs), task
        name = report.task
        if isinstance(task, TaskInfo):
            return task, task.name
        info = task_info_from(task, name, where="check-task")
        remember_resolved(name, info)  # the check's training names it like an import string
        return info, name
    except CptSearchError as error:
        _fail(report, "import", str(error))
    raise AssertionError("unreachable")


def _class_checks(info: TaskInfo, budget: Any, overrides: Mapping[str, Any] | None, report: TaskReport,
                  data_dir: str | None, device_name: str | None, seed: int) -> str:
    """The checks of a Task subclass before its training; returns the budget name."""
    import torch

    from cpt_search.data import DataOptions
    from cpt_search.tasks.base import Evaluation, Prepared
    from cpt_search.training.runner import resolve_device, seed_everything

    report.passed.append("metadata")
    cls = _task_class(info)
    if cls is not None:
        missing = [m for m in REQUIRED_METHODS if m in getattr(cls, "__abstractmethods__", ())]
        missing += [m for m in sorted(getattr(cls, "__abstractmethods__", ())) if m not in missing]
        for method in missing:
            signature = _base_signature(method)
            report.problems.append(Problem("methods", f"{cls.__qualname__} does not implement "
                                                      f"{method}{signature}, which every Task needs"))
        if missing:
            raise _Stop()
        report.passed.append("methods")
    name = budget if budget is not None else ("tiny" if "tiny" in info.budgets else "default")
    if not isinstance(name, str):
        _fail(report, "budget", f"a task class has named budgets ({', '.join(info.budget_names)}), "
                                f"not a mapping: {name!r}")
    report.budget = name
    try:
        value = info.budget(name, overrides, where=f"task {info.name}")
        task = info.load()
    except CptSearchError as error:
        _fail(report, "budget", str(error))
    except Exception as error:  # noqa: BLE001 - the user's constructor
        _fail(report, "init", f"building the task raised {_one_line(error)}")
    report.passed.append("budget")

    device = resolve_device(device_name)
    seed_everything(seed)
    try:
        prepared = task.prepare(value, DataOptions(data_dir=data_dir), device)
    except CptSearchError as error:
        _fail(report, "prepare", str(error))
    except Exception as error:  # noqa: BLE001 - the user's code: one line, its type and text
        _fail(report, "prepare", f"prepare() raised {_one_line(error)}")
    if not isinstance(prepared, Prepared):
        _fail(report, "prepare", f"prepare() must return cpt_search.tasks.base.Prepared, got "
                                 f"{type(prepared).__name__}")
    for key in ("steps_per_epoch", "samples_per_step"):
        count = getattr(prepared, key)
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            _fail(report, "prepare", f"Prepared.{key} must be a positive integer, got {count!r}")
    if not isinstance(prepared.model, torch.nn.Module) or not isinstance(prepared.example_inputs, tuple):
        _fail(report, "prepare", "Prepared.model must be an nn.Module and Prepared.example_inputs a tuple "
                                 f"of positional inputs, got {type(prepared.model).__name__} and "
                                 f"{type(prepared.example_inputs).__name__}")
    report.passed.append("prepare")

    declared = info.total_steps(value)
    real = value.epochs * prepared.steps_per_epoch
    if declared is not None and declared != real:
        report.problems.append(Problem(
            "steps_per_epoch", f"the metadata declares {declared} steps for budget {name!r} "
                               f"(budget.epoch_steps(train_size={info.train_size}) per epoch), but prepare() "
                               f"says {prepared.steps_per_epoch} per epoch x {value.epochs} epochs = {real}; "
                               "costs before training would be wrong: make train_size and "
                               "epoch_steps() agree with prepare()"))
    elif declared is None:
        report.notes.append("the task's metadata cannot tell its steps before training (train_size "
                            "unset): costs before training use the nominal step count")

    generator = torch.Generator().manual_seed(seed)
    try:
        batches = list(task.batches(prepared, value, generator))
    except Exception as error:  # noqa: BLE001
        _fail(report, "batches", f"batches() raised {_one_line(error)}")
    if len(batches) != prepared.steps_per_epoch:
        _fail(report, "batches", f"batches() gave {len(batches)} batches in one epoch, but "
                                 f"prepare() says steps_per_epoch={prepared.steps_per_epoch}; "
                                 "drop the last partial batch and make the two agree")
    if not any(p.check == "steps_per_epoch" for p in report.problems):
        report.passed.append("steps_per_epoch")
    report.passed.append("batches")

    model = prepared.model
    model.train()
    try:
        loss = task.loss(model, batches[0])
    except Exception as error:  # noqa: BLE001
        _fail(report, "loss", f"loss() raised {_one_line(error)}")
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not loss.requires_grad:
        _fail(report, "loss", "loss() must return a scalar tensor with a gradient, got "
                              f"{_describe(loss)}")
    if not math.isfinite(float(loss.detach())):
        _fail(report, "loss", f"loss() of the first batch is {float(loss.detach())}")
    report.passed.append("loss")

    model.eval()
    try:
        with torch.no_grad():
            evaluation = task.evaluate(model, prepared, value)
    except Exception as error:  # noqa: BLE001
        _fail(report, "evaluate", f"evaluate() raised {_one_line(error)}")
    if not isinstance(evaluation, Evaluation):
        _fail(report, "evaluate", "evaluate() must return cpt_search.tasks.base.Evaluation, got "
                                  f"{type(evaluation).__name__}")
    _check_metric(report, "metric", evaluation.metric, info.metric_name)
    if info.test_metric_name is not None and evaluation.test_metric is None:
        report.problems.append(Problem("metric", f"the task declares test_metric_name="
                                                 f"{info.test_metric_name!r} but evaluate() gave no "
                                                 "test_metric; return Evaluation(test_metric=...)"))
    elif info.test_metric_name is None and evaluation.test_metric is not None:
        report.problems.append(Problem("metric", "evaluate() gave a test_metric but the task declares "
                                                 "no test_metric_name; set test_metric_name on the class"))
    elif evaluation.test_metric is not None:
        _check_metric(report, "metric", evaluation.test_metric, info.test_metric_name or "test_metric",
                      field="test_metric")
    if report.problems:
        raise _Stop()
    report.passed.append("metric")
    return name


def _function_budget(info: FunctionTaskInfo, budget: Any, overrides: Mapping[str, Any] | None,
                     report: TaskReport) -> Any:
    value = budget if budget is not None else "default"
    try:
        checked = info.budget(value, overrides, where="check-task")
        steps = info.total_steps(checked)
    except CptSearchError as error:
        _fail(report, "budget", str(error))
    report.budget = budget_label(checked)
    report.passed.append("metadata")
    if steps is None:
        report.notes.append("no total_steps declared on @training_function: costs before training use "
                            "the nominal step count and ctx.quantize must be given the count")
    else:
        report.passed.append("total_steps")
    return checked


def _train(info: TaskInfo, name: str, budget: Any, overrides: Mapping[str, Any] | None, report: TaskReport,
           data_dir: str | None, device: str | None, seed: int) -> None:
    """A real training under a cycling schedule: the runner's own checks apply."""
    from cpt_search.presets import preset
    from cpt_search.training import TrialSpec, run_trial

    steps = info.total_steps(budget)
    cycles = max(1, min(2, steps or 2))
    schedule: Any = preset("CR", min_bits=4, max_bits=8, num_cycles=cycles)
    spec = TrialSpec(task=name, budget=budget, schedule=schedule,
                     seed=seed, data_dir=data_dir, device=device, threads=None,
                     budget_overrides=None if isinstance(info, FunctionTaskInfo) else overrides)
    try:
        result = run_trial(spec)
    except CptSearchError as error:
        _fail(report, "train", f"training under {spec.schedule.label} failed: {error}")
    except Exception as error:  # noqa: BLE001 - the user's code
        _fail(report, "train", f"training under {spec.schedule.label} raised {_one_line(error)}")
    if not result.epochs:
        _fail(report, "train", "the training reported no evaluation")
    report.result = result
    before = len(report.problems)
    _check_metric(report, "train", result.metric, info.metric_name)
    if len(report.problems) == before:
        report.passed.append("train")


def _check_metric(report: TaskReport, check: str, value: Any, name: str, *, field: str = "metric") -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        report.problems.append(Problem(check, f"Evaluation.{field} ({name}) must be a float, got "
                                              f"{_describe(value)}; return float(...) or tensor.item()"))
    elif not math.isfinite(float(value)):
        report.problems.append(Problem(check, f"Evaluation.{field} ({name}) is {float(value)} on the "
                                              "untrained model; it must be a finite number"))


def _task_class(info: TaskInfo) -> type | None:
    loaded = info._loaded.get("task")
    if loaded is not None:
        return type(loaded)
    module_name, _, attribute = info.factory.partition(":")
    try:
        import importlib

        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except Exception:  # noqa: BLE001 - load() will report it
        return None
    return value if inspect.isclass(value) else None


def _base_signature(method: str) -> str:
    from cpt_search.tasks.base import Task

    try:
        names = list(inspect.signature(getattr(Task, method)).parameters)
    except (TypeError, ValueError):
        return "()"
    return f"({', '.join(names)})"


def _fail(report: TaskReport, check: str, message: str) -> Any:
    report.problems.append(Problem(check, " ".join(message.split())))
    raise _Stop()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _describe(value: Any) -> str:
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    return f"{kind} of shape {tuple(shape)}" if shape is not None else f"{kind} {' '.join(repr(value).split())[:60]}"


def _qualified(obj: Any) -> str:
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) or hasattr(obj, "__qualname__") \
        else type(obj)
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(obj).__name__)}"


__all__ = ["Problem", "TaskReport", "check_task"]
