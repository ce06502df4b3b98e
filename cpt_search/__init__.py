"""cpt_search: find the best precision schedule for cyclic precision training.

The top level is torch-free: it exposes the schedule family, the presets, the cost model and the
exported-config loader. Training, search and tracking live in subpackages imported on demand;
:func:`apply_schedule` (plain PyTorch, :mod:`cpt_search.integrations.pytorch`) imports torch when
first used. A user's own task is a :class:`Task` subclass or a function decorated with
:func:`training_function` (which receives a :class:`TrialContext`); both are named lazily too.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("cpt-search")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from cpt_search.errors import CptSearchError
from cpt_search.export import load_schedule, save_schedule
from cpt_search.presets import PRESET_NAMES, full_precision, preset, static
from cpt_search.schedule import Schedule

__all__ = [
    "Budget",
    "CptSearchError",
    "Task",
    "TrialContext",
    "apply_schedule",
    "PRESET_NAMES",
    "Schedule",
    "__version__",
    "full_precision",
    "load_schedule",
    "preset",
    "save_schedule",
    "static",
    "training_function",
]

# name -> module, imported on first use: apply_schedule imports torch; the others are light but
# are only needed by a user's own task module.
_LAZY = {"apply_schedule": "cpt_search.integrations.pytorch",
         "Budget": "cpt_search.tasks.budgets",
         "Task": "cpt_search.tasks.base",
         "TrialContext": "cpt_search.training.context",
         "training_function": "cpt_search.tasks.function"}


def __getattr__(name: str):
    """Names whose modules import torch, resolved on first use (PEP 562)."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cpt_search' has no attribute {name!r}")
