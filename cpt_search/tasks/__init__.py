"""Tasks: the registry :data:`TASKS` of :class:`~cpt_search.tasks.info.TaskInfo` entries (torch-free).

``TASKS.get(name)`` returns the metadata (metric, direction, dataset, budgets, exact steps);
``TASKS.get(name).load()`` builds the :class:`~cpt_search.tasks.base.Task` itself (imports torch).
The built-in tasks are listed in :mod:`cpt_search.tasks.builtin`; :func:`register_task` adds one, and
installed packages add theirs under the entry-point group ``cpt_search.tasks``
(``name = "module:attribute"``, resolved like a ``task:`` import string: a ``Task`` subclass or
instance, or a ``TaskInfo``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cpt_search.registry import Registry
from cpt_search.tasks.budgets import Budget, CharLMBudget, GraphBudget, ImageBudget
from cpt_search.tasks.builtin import BUILTIN_TASKS
from cpt_search.tasks.info import TaskInfo


def _adopt_task(name: str, loaded: Any) -> TaskInfo:
    from cpt_search.tasks.resolve import task_info_from

    named = loaded if hasattr(loaded, "__qualname__") else type(loaded)  # a class or function, or an instance
    info = task_info_from(loaded, f"{named.__module__}:{named.__qualname__}", where=f"entry point {name!r}")
    # the entry point's name is the task's name everywhere (records, workers), whatever the class says
    return TASKS.register(name, dataclasses.replace(info, name=name))


TASKS: Registry[TaskInfo] = Registry("task", plugins="cpt_search.tasks", adopt=_adopt_task)
for _info in BUILTIN_TASKS:
    TASKS.register(_info.name, _info)


def register_task(info: TaskInfo) -> TaskInfo:
    """Add a task to :data:`TASKS` (its name must be new); returns it."""
    return TASKS.register(info.name, info)


__all__ = ["Budget", "CharLMBudget", "GraphBudget", "ImageBudget", "TASKS", "TaskInfo", "register_task"]
