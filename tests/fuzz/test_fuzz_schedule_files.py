"""Exported schedule files: any mutation of a valid file loads exactly or fails as one ConfigError line.

Before this suite, a list or mapping as ``profile`` raised TypeError, a non-UTF-8 file
UnicodeDecodeError, ``cpt_search_schedule: true`` was read as version 1, and a missing ``schedule``
section or ``max_bits`` silently became the defaults (CR 3-8/8).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from refusal import assert_refused, run_in_process

from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.export import load_schedule, load_schedule_document, save_schedule, schedule_document
from cpt_search.presets import preset
from cpt_search.schedule import Schedule

VALID = schedule_document(preset("RTV", min_bits=4, max_bits=7, num_cycles=5, warmup_frac=0.1,
                                 warmup_bits=32), {"search": "demo", "trial": 3})

# Values of every kind a YAML file can hold, hostile ones first.
hostile_values = st.one_of(
    st.sampled_from([None, True, False, "", "cosine", [], {}, ["a", "b"], {"a": 1}, 2**64, -2**64,
                     10**30, math.nan, math.inf, -math.inf, 0, -1, 1.5, "8", [[[[]]]]]),
    st.integers(), st.floats(), st.text(max_size=20),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _outcome_is_clean(path: Path) -> None:
    try:
        schedule, provenance = load_schedule_document(path)
    except CptSearchError as error:  # ConfigError, or UnknownNameError for a profile name
        assert "\n" not in str(error) and str(path) in str(error)
        return
    assert isinstance(schedule, Schedule) and isinstance(provenance, dict)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(field=st.sampled_from(Schedule.FIELDS), value=hostile_values)
def test_any_field_value_loads_or_is_one_line(tmp_path: Path, field: str, value) -> None:
    document = {**VALID, "schedule": {**VALID["schedule"], field: value}}
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    _outcome_is_clean(path)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(key=st.sampled_from(["cpt_search_schedule", "schedule", "provenance", "extra"]), value=hostile_values,
       drop=st.sets(st.sampled_from(Schedule.FIELDS), max_size=3))
def test_any_top_level_mutation_loads_or_is_one_line(tmp_path: Path, key: str, value, drop) -> None:
    document = {**VALID, "schedule": {k: v for k, v in VALID["schedule"].items() if k not in drop},
                key: value}
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    _outcome_is_clean(path)
    from cpt_search.export import OPTIONAL_FIELDS  # the cool-down: files from before it have none

    required_dropped = set(drop) - set(OPTIONAL_FIELDS)
    if required_dropped and key != "schedule" or key == "extra":
        with pytest.raises(ConfigError):  # a required field missing, or an unknown key, is never accepted
            load_schedule(path)


@pytest.mark.parametrize("schedule_yaml,needle", [
    ("{profile: [cosine, linear]}", "profile"),
    ("{profile: {a: 1}}", "profile"),
    ("", "the schedule section is missing or empty"),
    ("{}", "the schedule section is missing or empty"),
    (None, "the schedule section is missing or empty"),
    ("{profile: cosine, min_bits: 3}", "required schedule parameter is missing"),
])
def test_incomplete_or_ill_typed_schedules_are_refused(tmp_path: Path, capsys, schedule_yaml, needle) -> None:
    text = "cpt_search_schedule: 1\n" + ("" if schedule_yaml is None else f"schedule: {schedule_yaml}\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_refused(run_in_process(capsys, "schedule", "--schedule-file", path), str(path), needle)


def test_every_field_is_required(tmp_path: Path) -> None:
    from cpt_search.export import OPTIONAL_FIELDS  # the cool-down: files from before it have none

    for field in (name for name in Schedule.FIELDS if name not in OPTIONAL_FIELDS):
        document = {**VALID, "schedule": {k: v for k, v in VALID["schedule"].items() if k != field}}
        path = tmp_path / f"without_{field}.yaml"
        path.write_text(yaml.safe_dump(document))
        with pytest.raises(ConfigError, match=f"schedule: {field}: required schedule parameter is missing"):
            load_schedule(path)


@pytest.mark.parametrize("version", ["true", "1.0", "'1'", "[1]", "2", "null"])
def test_the_version_is_the_integer_1(tmp_path: Path, capsys, version: str) -> None:
    text = yaml.safe_dump(VALID).replace("cpt_search_schedule: 1", f"cpt_search_schedule: {version}")
    path = tmp_path / "versioned.yaml"
    path.write_text(text)
    assert_refused(run_in_process(capsys, "schedule", "--schedule-file", path),
                   "unsupported schedule file version")


def test_non_utf8_file_is_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(yaml.safe_dump(VALID).encode() + b"# caf\xe9\n")
    assert_refused(run_in_process(capsys, "schedule", "--schedule-file", path), "is not UTF-8 text")


def test_save_to_a_full_device_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"path='/dev/full': cannot write the file \(No space left"):
        save_schedule("/dev/full", preset("CR"))


def test_round_trip_still_exact(tmp_path: Path) -> None:
    schedule = preset("ETH", min_bits=2, max_bits=6, num_cycles=3)
    assert load_schedule(save_schedule(tmp_path / "deep" / "er" / "s.yaml", schedule)) == schedule
