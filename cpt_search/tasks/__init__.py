"""Tasks: the registry :data:`TASKS` of :class:`~cpt_search.tasks.info.TaskInfo` entries (torch-free).

``TASKS.get(name)`` returns the metadata (metric, direction, dataset, budgets, exact steps);
``TASKS.get(name).load()`` builds the :class:`~cpt_search.tasks.base.Task` itself (imports torch).
The built-in tasks are listed in :mod:`cpt_search.tasks.builtin`; :func:`register_task` adds one.
"""

from __future__ import annotations

from cpt_search.registry import Registry
from cpt_search.tasks.budgets import Budget, CharLMBudget, GraphBudget, ImageBudget
from cpt_search.tasks.builtin import BUILTIN_TASKS
from cpt_search.tasks.info import TaskInfo

TASKS: Registry[TaskInfo] = Registry("task")
for _info in BUILTIN_TASKS:
    TASKS.register(_info.name, _info)


def register_task(info: TaskInfo) -> TaskInfo:
    """Add a task to :data:`TASKS` (its name must be new); returns it."""
    return TASKS.register(info.name, info)


__all__ = ["Budget", "CharLMBudget", "GraphBudget", "ImageBudget", "TASKS", "TaskInfo", "register_task"]
