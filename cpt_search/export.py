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
from cpt_search.schedule import Schedule

SCHEMA_KEY = "cpt_search_schedule"
SCHEMA_VERSION = 1
_TOP_KEYS = (SCHEMA_KEY, "schedule", "provenance")


def schedule_document(schedule: Schedule, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The exported file's content as a plain dict."""
    return {
        SCHEMA_KEY: SCHEMA_VERSION,
        "schedule": schedule.to_dict(),
        "provenance": dict(provenance or {}),
    }


def save_schedule(path: str | Path, schedule: Schedule,
                  provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``schedule`` (and where it came from) to a YAML file; returns the path."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(schedule_document(schedule, provenance), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_schedule(path: str | Path) -> Schedule:
    """Read a schedule exported by :func:`save_schedule` (``cpt-search export``)."""
    return load_schedule_document(path)[0]


def load_schedule_document(path: str | Path) -> tuple[Schedule, dict[str, Any]]:
    """Read an exported file; returns the schedule and its provenance."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ConfigError("schedule file not found", where=where,
                          fix="pass a file written by 'cpt-search export'")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{line}", where=where,
                          fix="re-export it with 'cpt-search export'") from None
    if not isinstance(data, dict) or SCHEMA_KEY not in data:
        raise ConfigError(f"not a cpt_search schedule file (no '{SCHEMA_KEY}' key)", where=where,
                          fix="pass a file written by 'cpt-search export'")
    version = data[SCHEMA_KEY]
    if version != SCHEMA_VERSION:
        raise ConfigError(f"unsupported schedule file version (this cpt_search reads version "
                          f"{SCHEMA_VERSION})", where=where, key=SCHEMA_KEY, value=version,
                          fix="re-export the schedule with this version of cpt_search")
    unknown = [key for key in data if key not in _TOP_KEYS]
    if unknown:
        raise ConfigError("unknown top-level key", where=where, key=str(unknown[0]),
                          fix=f"use only: {', '.join(_TOP_KEYS)}")
    provenance = data.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise ConfigError("provenance must be a mapping", where=where, key="provenance",
                          value=provenance, fix="remove it or make it a mapping")
    schedule = Schedule.from_dict(data.get("schedule") or {}, where=f"{where}: schedule")
    return schedule, provenance
