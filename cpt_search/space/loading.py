"""Loading a space file: YAML with line numbers, strict validation, resolution against the task.

:func:`load_space` reads a file and :func:`parse_space` validates a mapping. Validation is strict:
unknown keys are errors, bounds are inclusive at both ends, and every problem is one
:class:`~cpt_search.errors.ConfigError` line naming the file (and line), the dotted key, the value
and a fix (:mod:`cpt_search.space.problems`).
"""

from __future__ import annotations

import logging
import numbers
import os
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.space.dimensions import Dim, Fixed, ScheduleSpace
from cpt_search.space.model import NOMINAL_TOTAL_STEPS, SearchSpace
from cpt_search.space.names import SEARCH_NAME_RE
from cpt_search.space.problems import _Context, _short, _suggest_fix
from cpt_search.space.schedule_parsing import _parse_schedule
from cpt_search.space.sections import (
    DEFAULT_BASELINE,
    BaselineBits,
    Objective,
    Scheduler,
    _SpaceFile,
)
from cpt_search.stopping import StoppingSpec
from cpt_search.yaml_io import compose_yaml, construct_yaml, read_text_file

logger = logging.getLogger(__name__)


def load_space(path: str | os.PathLike) -> SearchSpace:
    """Read and validate a space file.

    Raises:
        ConfigError: one line naming the file (and line), the dotted key, the value and a fix, for
            any problem: unreadable file, YAML syntax, duplicate or unknown keys, wrong types,
            out-of-range values, ``low > high``, unknown task, budget, sampler or profile.
    """
    path = Path(path)
    where = str(path)
    # Bounded read: a FIFO, a device or a huge file is refused before a byte is read (yaml_io).
    text = read_text_file(path, what="search space file",
                          fix="pass the path of a YAML file, e.g. search_spaces/quickstart.yaml")
    data, lines = _parse_yaml(text, where)
    return parse_space(data, where=where, default_name=path.stem, _lines=lines)


def parse_space(mapping: Any, where: str = "<string>", *, default_name: str | None = None,
                _lines: Mapping[tuple[str, ...], int] | None = None) -> SearchSpace:
    """Validate a space given as a mapping (what :func:`load_space` reads from YAML).

    Args:
        mapping: the space's top-level mapping.
        where: names the source in error messages.
        default_name: the search name when the mapping has none (``load_space`` passes the stem).
    """
    ctx = _Context(where, _lines or {})
    if not isinstance(mapping, Mapping):
        raise ConfigError("a search space must be a mapping of keys", where=where,
                          value=_short(mapping), fix="start the file with keys such as 'task:' and 'trials:'")
    try:
        file = _SpaceFile.model_validate(dict(mapping))
    except ValidationError as error:
        raise ctx.from_pydantic(error, mapping) from None

    name = file.name if file.name is not None else (default_name or "search")
    if not SEARCH_NAME_RE.match(name):
        raise ctx.error("the name may use letters, digits, '_', '.', '-' (it names files and studies)",
                        ("name",), name, "rename the search (or the file), e.g. 'cora_quick'")
    seeds = (file.seeds,) if isinstance(file.seeds, int) else tuple(file.seeds)
    _check_seeds(ctx, seeds)
    from cpt_search.sampler_registry import SAMPLERS

    if file.sampler.name not in SAMPLERS:
        raise ctx.error("unknown sampler", ("sampler", "name"), file.sampler.name,
                        _suggest_fix(file.sampler.name, SAMPLERS.names()))
    schedule = _parse_schedule(ctx, file.schedule)
    code = _code_folders(ctx, where, file.code)
    code_dirs = _code_dirs(where) + tuple(d for d in code if d not in _code_dirs(where))
    task_info = _resolve_task(ctx, file.task, file.budget, code_dirs)
    objective = _resolve_objective(ctx, file.objective, task_info)
    baseline = _resolve_baseline(ctx, file.baselines, schedule)
    space = SearchSpace(
        name=name, task=file.task, budget=file.budget, seeds=seeds, num_trials=file.trials,
        concurrency=file.concurrency, resources=file.resources, objective=objective,
        sampler=file.sampler, constraints=file.constraints,
        include_baselines=file.include_baselines, baseline=baseline, schedule=schedule,
        source=where, cost_steps=_known_total_steps(task_info, file.budget, ctx) or NOMINAL_TOTAL_STEPS,
        code_dirs=code_dirs, confirm=file.confirm, stopping=_resolve_stopping(ctx, file.scheduler), code=code,
    )
    _check_cycles_fit(ctx, space)
    _check_confirm(ctx, space)
    return space


def _resolve_stopping(ctx: _Context, section: Scheduler) -> StoppingSpec:
    """The ``scheduler:`` section: a registered rule, its other keys validated by its options model."""
    from cpt_search.stopping import STOPPING_RULES

    if section.name not in STOPPING_RULES:
        raise ctx.error("unknown stopping rule", ("scheduler", "name"), section.name,
                        _suggest_fix(section.name, STOPPING_RULES.names()))
    entry = STOPPING_RULES.get(section.name)
    given = dict(section.model_extra or {})
    try:
        options = entry.options.model_validate(given)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        path = ("scheduler",) + tuple(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            known = ["name", *entry.options.model_fields]
            raise ctx.error(f"unknown key for stopping rule {section.name!r}", path, first["input"],
                            _suggest_fix(path[-1], known, what="key")) from None
        message = str((first.get("ctx") or {}).get("error") or first["msg"])
        raise ctx.error(message[0].lower() + message[1:], path, _short(first.get("input")),
                        f"{section.name} takes {', '.join(entry.options.model_fields)}") from None
    return StoppingSpec(name=section.name, options=options)


def _check_confirm(ctx: _Context, space: SearchSpace) -> None:
    """Confirm seeds are fresh (a search seed would confirm a value with itself) and unique."""
    if space.confirm is None or space.confirm.seeds is None:
        return
    seeds = space.confirm.seeds
    if not seeds:
        raise ctx.error("at least one confirm seed is needed", ("confirm", "seeds"), [],
                        "leave seeds out (four fresh seeds) or use e.g. 'seeds: [1, 2, 3]'")
    if len(set(seeds)) != len(seeds):
        raise ctx.error("confirm seeds must be unique", ("confirm", "seeds"), list(seeds),
                        "remove the repeated seed")
    shared = sorted(set(seeds) & set(space.seeds))
    if shared:
        raise ctx.error(f"confirm seeds must differ from the search's seeds {list(space.seeds)}",
                        ("confirm", "seeds"), list(seeds), f"drop {shared[0]} or leave seeds out")


def _code_dirs(where: str) -> tuple[str, ...]:
    """Folders a space's import strings are resolved against: the space file's own folder."""
    path = Path(where)
    return (str(path.parent.resolve()),) if path.suffix in (".yaml", ".yml") and path.exists() else ()


def _code_folders(ctx: _Context, where: str, given: list[str]) -> tuple[str, ...]:
    """The ``code:`` folders, absolute: relative ones are relative to the space file's folder."""
    path = Path(where)
    base = path.parent if path.suffix in (".yaml", ".yml") and path.exists() else Path.cwd()
    folders: list[str] = []
    for index, value in enumerate(given):
        folder = (base / Path(value).expanduser()).resolve()
        if not folder.exists():
            raise ctx.error(f"code folder not found (looked for {folder})", ("code", index), value,
                            "give a folder of your Python code, relative to the space file's folder")
        if not folder.is_dir():
            raise ctx.error(f"code entries must be folders, but {folder} is a file", ("code", index), value,
                            "list the folder that holds the module (it goes on the import path)")
        if str(folder) not in folders:
            folders.append(str(folder))
    return tuple(folders)


def _parse_yaml(text: str, where: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Load YAML safely; return the data and a map of key paths to 1-based line numbers."""
    # Depth, aliases and expansion are bounded in yaml_io, so _walk below recurses a bounded amount.
    node = compose_yaml(text, where)
    data = construct_yaml(node, where)
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _walk(node, (), lines, where)
    return data, lines


def _walk(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int], where: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:  # PyYAML silently keeps the last one; a search space must not
                raise ConfigError("duplicate key", where=f"{where}:{key_node.start_mark.line + 1}",
                                  key=".".join(path + (key,)), fix="keep one of the two entries")
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (str(index),)] = item.start_mark.line + 1
            _walk(item, path + (str(index),), lines, where)


def _check_seeds(ctx: _Context, seeds: tuple[int, ...]) -> None:
    if not seeds:
        raise ctx.error("at least one seed is needed", ("seeds",), [], "use e.g. 'seeds: [0]'")
    for index, seed in enumerate(seeds):
        if seed < 0:
            raise ctx.error("seeds must be >= 0", ("seeds", index), seed, "use non-negative seeds")
    if len(set(seeds)) != len(seeds):
        raise ctx.error("seeds must be unique", ("seeds",), list(seeds), "remove the repeated seed")

def _resolve_task(ctx: _Context, task_name: str, budget: Any, search_dirs: tuple[str, ...]) -> Any:
    """The task's metadata (validating the name or import string, and the budget)."""
    from cpt_search.tasks.function import FunctionTaskInfo
    from cpt_search.tasks.resolve import is_import_string, resolve_task

    try:
        task = resolve_task(task_name, where=ctx.place(("task",)), key="task", search_dirs=search_dirs)
    except CptSearchError as error:
        if is_import_string(task_name):
            raise
        raise ctx.error("unknown task", ("task",), task_name, error.fix) from None
    if isinstance(task, FunctionTaskInfo):  # any name or mapping is the function's to read
        task.check_budget(budget, where=ctx.place(("budget",)), key="budget")
        return task
    budgets = task.budget_names
    if not isinstance(budget, str):
        raise ctx.error(f"task {task_name} has named budgets (a mapping is for training functions)",
                        ("budget",), budget, f"use one of: {', '.join(budgets)}")
    if budget not in budgets:
        raise ctx.error(f"unknown budget of task {task_name}", ("budget",), budget,
                        _suggest_fix(budget, budgets, what="budget"))
    return task


def _known_total_steps(task: Any, budget: Any, ctx: _Context) -> int | None:
    """The task's exact optimizer steps for ``budget`` when it can tell without loading data."""
    from cpt_search.tasks.function import FunctionTaskInfo

    if isinstance(task, FunctionTaskInfo):  # the user's declaration: a bad one is their error to see
        assert task.function is not None
        return task.function.total_steps(budget, where=ctx.place(("task",)))
    total_steps = getattr(task, "total_steps", None)
    if not callable(total_steps):
        return None
    try:
        steps = total_steps(budget)
    except Exception:  # noqa: BLE001 - a task that cannot tell up front falls back to nominal steps
        logger.debug("task %s cannot tell its total steps up front", task, exc_info=True)
        return None
    if not isinstance(steps, numbers.Integral):
        return None
    count = int(steps)  # numbers.Integral declares no ordering; int() of one is exact
    return count if count > 0 else None


def _resolve_objective(ctx: _Context, objective: Objective, task: Any) -> Objective:
    if task is None:
        return objective
    metric_name = getattr(task, "metric_name", None)
    if objective.metric is not None and objective.metric == getattr(task, "test_metric_name", None):
        # Selecting on the split that is reported would make the reported front optimistic.
        raise ctx.error(f"a search selects on the validation metric {metric_name!r}; "
                        f"{objective.metric} is reported beside it, never selected on",
                        ("objective", "metric"), objective.metric,
                        f"use 'metric: {metric_name}' or leave it out")
    if objective.metric is not None and metric_name is not None and objective.metric != metric_name:
        raise ctx.error(f"task {task.name} reports the metric {metric_name!r}",
                        ("objective", "metric"), objective.metric,
                        f"use 'metric: {metric_name}' or leave it out")
    task_direction = "maximize" if getattr(task, "higher_is_better", True) else "minimize"
    if objective.direction is not None and objective.direction != task_direction:
        raise ctx.error(f"{metric_name} of task {task.name} is better when "
                        f"{'higher' if task_direction == 'maximize' else 'lower'}",
                        ("objective", "direction"), objective.direction,
                        f"use 'direction: {task_direction}' or leave it out")
    return Objective(metric=objective.metric or metric_name, direction=task_direction)


def _resolve_baseline(ctx: _Context, given: BaselineBits, schedule: ScheduleSpace) -> dict[str, int]:
    def fixed(name: str) -> Any:
        dim = schedule[name]
        return dim.value if isinstance(dim, Fixed) else None

    derived = dict(DEFAULT_BASELINE)
    for key, dim_name in (("min_bits", "min_bits"), ("num_cycles", "num_cycles"),
                          ("grad_bits", "min_grad_bits")):
        if fixed(dim_name) is not None:
            derived[key] = fixed(dim_name)
    if fixed("max_bits") is not None:
        derived["max_bits"] = fixed("max_bits")
    elif fixed("bits_span") is not None and fixed("min_bits") is not None:
        derived["max_bits"] = fixed("min_bits") + fixed("bits_span")
    baseline = {key: (getattr(given, key) if getattr(given, key) is not None else derived[key])
                for key in DEFAULT_BASELINE}
    if baseline["min_bits"] > baseline["max_bits"]:
        # Derived defaults give way to what the file says (e.g. a space fixed at max_bits 2).
        if given.min_bits is None:
            baseline["min_bits"] = baseline["max_bits"]
        elif given.max_bits is None:
            baseline["max_bits"] = baseline["min_bits"]
    if baseline["min_bits"] > baseline["max_bits"]:
        raise ctx.error(f"min_bits <= max_bits must hold, but got (min_bits={baseline['min_bits']}, "
                        f"max_bits={baseline['max_bits']})", ("baselines", "min_bits"),
                        baseline["min_bits"], "set baselines.min_bits and baselines.max_bits")
    return baseline


def _defaulted_dim(schedule: ScheduleSpace, name: str) -> Dim:
    """A dimension whose rule has a default (cpt_search.space.dimensions.RULES): set in every parsed space."""
    dim = schedule[name]
    if dim is None:
        raise KeyError(f"schedule dimension {name} (its rule has a default, so a parsed space has it)")
    return dim


def _check_cycles_fit(ctx: _Context, space: SearchSpace) -> None:
    """Each period needs at least one step: ``num_cycles <= steps between the longest warm-up and
    the longest cool-down``, and the two phases together leave some cycles."""
    warmup, cooldown, cycles = (_defaulted_dim(space.schedule, name)
                                for name in ("warmup_frac", "cooldown_frac", "num_cycles"))
    warmup_high = warmup.bounds()[1]
    cooldown_high = cooldown.bounds()[1]
    if warmup_high + cooldown_high >= 1.0:
        raise ctx.error(f"warmup_frac up to {warmup_high:g} and cooldown_frac up to {cooldown_high:g} "
                        f"leave no steps for the cycles (warmup_frac + cooldown_frac < 1 must hold)",
                        ("schedule", "cooldown_frac"), cooldown.to_yaml(),
                        "lower the highest warmup_frac or cooldown_frac")
    cycles_high = cycles.bounds()[1]
    steps_after = space.cost_steps - round(warmup_high * space.cost_steps) \
        - round(cooldown_high * space.cost_steps)
    if cycles_high > steps_after:
        closing = " and cool-down" if cooldown_high > 0 else ""
        raise ctx.error(f"num_cycles up to {cycles_high} leaves periods without steps "
                        f"({steps_after} steps after the warm-up{closing})", ("schedule", "num_cycles"),
                        cycles.to_yaml(),
                        "lower num_cycles or warmup_frac" + (" or cooldown_frac" if closing else ""))


__all__ = ["load_space", "parse_space"]
