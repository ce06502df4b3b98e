"""Exported schedule files: the config a user takes to their own training loop.

A file is YAML with a schema version, the schedule's parameters and free-form provenance (search,
trial, metric, BitOPs, package version)::

    cpt_search_schedule: 1
    schedule: {profile: cosine, form: repeated, ...}
    provenance: {search: quickstart, trial: 12, ...}

Loading checks the version (torchao's saved configs do the same), so a stale or foreign file fails
with one clear line instead of training the wrong thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from cpt_search.errors import ConfigError
from cpt_search.output_paths import check_output_path, write_text
from cpt_search.profiles import owner_of
from cpt_search.schedule import Schedule
from cpt_search.yaml_io import load_yaml_file

SCHEMA_KEY = "cpt_search_schedule"
SCHEMA_VERSION = 1
_TOP_KEYS = (SCHEMA_KEY, "schedule", "provenance")
_FROM_EXPORT = "pass a file written by 'cpt-search export'"
# The YAML types a field may take in a file (ints are fine where floats are expected).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "profile": (str,), "form": (str,), "flip": (str,),
    "num_cycles": (int,), "min_bits": (int,), "max_bits": (int,),
    "min_grad_bits": (int,), "max_grad_bits": (int,),
    "warmup_frac": (float, int), "warmup_bits": (int, type(None)), "warmup_grad_bits": (int, type(None)),
    "cooldown_frac": (float, int), "cooldown_bits": (int, type(None)), "cooldown_grad_bits": (int, type(None)),
}
# Fields a file may leave out: files written before the closing phase existed have none (= off).
OPTIONAL_FIELDS = ("cooldown_frac", "cooldown_bits", "cooldown_grad_bits")


def schedule_document(schedule: Schedule, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The exported file's content as a plain dict."""
    return {
        SCHEMA_KEY: SCHEMA_VERSION,
        "schedule": schedule.to_dict(),
        "provenance": dict(provenance or {}),
    }


def save_schedule(path: str | Path, schedule: Schedule,
                  provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``schedule`` (and where it came from) to a YAML file; returns the path.

    Raises:
        ConfigError: the file cannot be written (no space, a parent that is a file, no permission),
            one line naming the path (key ``path``).
    """
    text = yaml.safe_dump(schedule_document(schedule, provenance), sort_keys=False)
    return write_text(check_output_path(path, flag="path"), text, flag="path")


def load_schedule(path: str | Path) -> Schedule:
    """Read a schedule exported by :func:`save_schedule` (``cpt-search export``)."""
    return load_schedule_document(path)[0]


def load_schedule_document(path: str | Path) -> tuple[Schedule, dict[str, Any]]:
    """Read an exported file; returns the schedule and its provenance.

    The file is read within :mod:`cpt_search.yaml_io`'s bounds and checked strictly: the version is
    the integer :data:`SCHEMA_VERSION` (``true`` is not 1), and ``schedule`` carries every field
    :meth:`Schedule.to_dict` writes (the cool-down fields may be absent: off), each of the right
    type, so a truncated or hand-edited file fails with one line instead of silently training CR 3-8/8 (the defaults).
    """
    path = Path(path)
    where = str(path)
    data, _ = load_yaml_file(path, what="schedule file", fix=_FROM_EXPORT)
    if not isinstance(data, dict) or SCHEMA_KEY not in data:
        raise ConfigError(f"not a cpt_search schedule file (no '{SCHEMA_KEY}' key)", where=where,
                          fix=_FROM_EXPORT)
    version = data[SCHEMA_KEY]
    # bool is an int subclass and True == 1: a version must be the integer itself.
    if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
        raise ConfigError(f"unsupported schedule file version (this cpt_search reads version "
                          f"{SCHEMA_VERSION})", where=where, key=SCHEMA_KEY, value=_short(version),
                          fix="re-export the schedule with this version of cpt_search")
    unknown = [key for key in data if key not in _TOP_KEYS]
    if unknown:
        raise ConfigError("unknown top-level key", where=where, key=str(unknown[0]),
                          fix=f"use only: {', '.join(_TOP_KEYS)}")
    provenance = data.get("provenance")
    provenance = {} if provenance is None else provenance
    if not isinstance(provenance, dict):
        raise ConfigError("provenance must be a mapping", where=where, key="provenance",
                          value=_short(provenance), fix="remove it or make it a mapping")
    schedule = _schedule_section(data.get("schedule"), f"{where}: schedule")
    return schedule, provenance


def _schedule_section(section: Any, where: str) -> Schedule:
    """The ``schedule`` mapping of a file: every field present, each of its field's type."""
    if not isinstance(section, dict) or not section:
        raise ConfigError("the schedule section is missing or empty", where=where,
                          value=_short(section), fix=f"{_FROM_EXPORT}; it writes every field")
    unknown = [key for key in section if key not in Schedule.FIELDS and owner_of(str(key)) is None]
    if unknown:  # before "missing": a misspelt key is the likelier mistake
        raise ConfigError("unknown schedule parameter", where=where, key=str(unknown[0]),
                          fix=f"use keys from: {', '.join(Schedule.keys())}")
    missing = [key for key in Schedule.FIELDS if key not in section and key not in OPTIONAL_FIELDS]
    if missing:
        raise ConfigError(f"required schedule parameter is missing (an exported file carries all of "
                          f"{', '.join(Schedule.FIELDS)})", where=where, key=missing[0],
                          fix=f"add '{missing[0]}:' or {_FROM_EXPORT}")
    for key, value in section.items():
        kinds = _FIELD_TYPES.get(key, (float, int))  # a profile's shape constant is a number
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)
            raise ConfigError(f"must be {names}", where=where, key=key, value=_short(value),
                              fix=f"write {key} as {names}, as 'cpt-search export' does")
    return Schedule.from_dict(section, where=where)


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."
