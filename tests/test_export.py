"""Exported schedule files: round trip, versions, bad files."""

import pytest
import yaml

from cpt_search import load_schedule, preset, save_schedule
from cpt_search.errors import ConfigError
from cpt_search.export import SCHEMA_VERSION, load_schedule_document


def test_round_trip_with_provenance(tmp_path):
    schedule = preset("RTV", min_bits=4, max_bits=7, num_cycles=5, warmup_frac=0.1, warmup_bits=32)
    path = save_schedule(tmp_path / "best.yaml", schedule, {"search": "demo", "trial": 3})
    loaded, provenance = load_schedule_document(path)
    assert loaded == schedule and load_schedule(path) == schedule
    assert provenance == {"search": "demo", "trial": 3}
    assert yaml.safe_load(path.read_text())["cpt_search_schedule"] == SCHEMA_VERSION


def _full(**changes) -> str:
    """A complete ``schedule`` section (as 'cpt-search export' writes it) as flow YAML."""
    return yaml.safe_dump({**preset("CR").to_dict(), **changes}, default_flow_style=True).strip()


@pytest.mark.parametrize("text,match", [
    ("just text", r"not a cpt_search schedule file"),
    ("cpt_search_schedule: 99\nschedule: {}\n", r"cpt_search_schedule=99: unsupported schedule file version"),
    (f"cpt_search_schedule: 1\nschedule: {_full(min_bits=0)}\n", r"schedule: min_bits=0: bits must be"),
    ("cpt_search_schedule: 1\nschedule: {min_bits: 3}\n", r"schedule: profile: required schedule parameter"),
    ("cpt_search_schedule: 1\nschedule: {cycles: 4}\n", r"cycles: unknown schedule parameter"),
    ("cpt_search_schedule: 1\nextra: 1\n", r"extra: unknown top-level key"),
    ("cpt_search_schedule: [1\n", r"bad.yaml:2: YAML syntax error"),
])
def test_bad_files_fail_with_one_line(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_schedule(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="schedule file not found"):
        load_schedule(tmp_path / "nope.yaml")


def test_cooldown_round_trip_and_files_without_it(tmp_path):
    schedule = preset("CR", num_cycles=4, cooldown_frac=0.15, cooldown_bits=32)
    path = save_schedule(tmp_path / "closing.yaml", schedule)
    assert load_schedule(path) == schedule and load_schedule(path).tracks(100)[0][-1] == 32
    # a file written before the closing phase existed (no cooldown keys) loads with it off
    old = {k: v for k, v in preset("CR").to_dict().items() if not k.startswith("cooldown")}
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({"cpt_search_schedule": 1, "schedule": old}))
    assert load_schedule(tmp_path / "old.yaml") == preset("CR")
    (tmp_path / "bad.yaml").write_text(
        f"cpt_search_schedule: 1\nschedule: {_full(cooldown_frac='a lot')}\n")
    with pytest.raises(ConfigError, match=r"cooldown_frac='a lot': must be float or int"):
        load_schedule(tmp_path / "bad.yaml")
