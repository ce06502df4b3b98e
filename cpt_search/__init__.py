"""cpt_search: find the best precision schedule for cyclic precision training.

The top level is torch-free: it exposes the schedule family, the presets, the cost model and the
exported-config loader. Training, search and tracking live in subpackages imported on demand.
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
    "CptSearchError",
    "PRESET_NAMES",
    "Schedule",
    "__version__",
    "full_precision",
    "load_schedule",
    "preset",
    "save_schedule",
    "static",
]
