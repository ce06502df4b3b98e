"""From a ``task:`` value to a task: a registered name, or a user's ``module:attribute`` import string.

An import string names a :class:`~cpt_search.tasks.base.Task` subclass (or instance), a function
decorated with :func:`~cpt_search.tasks.function.training_function`, or a
:class:`~cpt_search.tasks.info.TaskInfo` in the user's own code. The module is looked up in the
given folders first (a search space's own folder), then on ``sys.path`` (installed packages). Every
failure is one line saying which part failed and what was expected, as uvicorn's
``import_from_string`` does: a malformed string, a module that cannot be imported (and why), a
missing attribute, an object of the wrong kind.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from cpt_search.errors import ConfigError
from cpt_search.tasks.function import FunctionTaskInfo, is_training_function
from cpt_search.tasks.info import TaskInfo

_IMPORT_STRING = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_resolved: dict[str, TaskInfo] = {}  # import string -> info, once per process


def is_import_string(value: str) -> bool:
    """Whether ``value`` looks like ``module:attribute`` (registered names have no colon)."""
    return ":" in str(value)


def import_from_string(text: str, *, search_dirs: Sequence[str | Path] = (), where: str | None = None,
                       key: str = "task") -> Any:
    """The object ``module:attribute`` names (``attribute`` may be dotted).

    Raises:
        ConfigError: a malformed string, an unimportable module or a missing attribute.
    """
    if not isinstance(text, str) or not _IMPORT_STRING.match(text):
        raise ConfigError("an import string must look like 'module:attribute'", where=where, key=key,
                          value=text, fix="write e.g. 'my_tasks:MyTask' (module path, a colon, a name)")
    module_name, _, attribute = text.partition(":")
    for folder in reversed([str(Path(d).resolve()) for d in search_dirs]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            places = ", ".join(str(d) for d in search_dirs)
            raise ConfigError(f"module {module_name!r} not found", where=where, key=key, value=text,
                              fix="put it " + (f"in {places} or " if places else "")
                                  + "on the Python path, or install its package") from None
        raise ConfigError(f"module {module_name!r} could not be imported: it needs the missing "
                          f"module {error.name!r}", where=where, key=key, value=text,
                          fix=f"install {error.name!r} where the search runs") from None
    except Exception as error:  # noqa: BLE001 - any error in the user's module is theirs to see
        line = " ".join(str(error).split())[:200]
        raise ConfigError(f"module {module_name!r} raised {type(error).__name__} on import: {line}",
                          where=where, key=key, value=text,
                          fix=f"fix the module (python -c 'import {module_name}' shows the traceback)") from None
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            known = [n for n in dir(module) if not n.startswith("_")][:12]
            raise ConfigError(f"module {module_name!r} has no attribute {attribute!r}", where=where,
                              key=key, value=text, fix=f"names there: {', '.join(known) or 'none'}") from None
    return value


def task_info_from(obj: Any, factory: str, *, where: str | None = None, key: str = "task") -> TaskInfo:
    """The :class:`TaskInfo` of a user's object: a ``Task`` subclass or instance, a function decorated
    with ``@cpt_search.training_function``, or a ``TaskInfo``."""
    if isinstance(obj, TaskInfo):
        return obj
    if is_training_function(obj):
        return FunctionTaskInfo.from_function(obj, factory=factory)
    # Task subclasses carry this marker; checking it keeps this module (and the space loader that
    # uses it) free of the task base class and what it imports.
    cls = obj if inspect.isclass(obj) else type(obj)
    if not getattr(cls, "_is_cpt_search_task", False) or cls.__module__ == "cpt_search.tasks.base":
        hint = (" (decorate it with @cpt_search.training_function)"
                if inspect.isfunction(obj) else "")
        raise ConfigError("the import string must name a cpt_search.Task subclass, a Task instance, "
                          f"a @cpt_search.training_function or a TaskInfo, but it names {_kind(obj)}{hint}",
                          where=where, key=key, value=factory,
                          fix="point it at your Task subclass or training function (see 'Search your "
                              "own model' in the README)")
    return TaskInfo.from_task_class(cls, factory=factory, instance=None if inspect.isclass(obj) else obj,
                                    where=where or factory)


def resolve_task(value: str, *, where: str | None = None, key: str = "task",
                 search_dirs: Sequence[str | Path] = ()) -> TaskInfo:
    """The task a ``task:`` value names: a registered name, or a ``module:attribute`` string.

    Raises:
        UnknownNameError: an unknown registered name (with the closest match and the list).
        ConfigError: a bad import string (which part failed, and what was expected).
    """
    from cpt_search.tasks import TASKS

    if not is_import_string(value):
        return TASKS.get(value, where=where, key=key)  # installed packages' tasks load on a miss
    info = _resolved.get(value)
    if info is None:
        info = task_info_from(import_from_string(value, search_dirs=search_dirs, where=where, key=key),
                              value, where=where, key=key)
        _resolved[value] = info
    return info


def remember_resolved(text: str, info: TaskInfo) -> None:
    """Make ``text`` resolve to ``info`` in this process (a task given as an object, e.g. to
    :func:`cpt_search.testing.check_task`, is trained by the runner under this name)."""
    _resolved[text] = info


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return f"the class {obj.__qualname__}"
    if callable(obj):
        return f"the {type(obj).__name__} {getattr(obj, '__qualname__', obj)!r}"
    return f"a {type(obj).__name__}"
