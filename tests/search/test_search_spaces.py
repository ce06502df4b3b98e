"""Every shipped search space loads, and ``cpt-search validate`` checks files without training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cpt_search.cli import main
from cpt_search.search.samplers import make_sampler
from cpt_search.space import load_space, parse_space

SPACES_DIR = Path(__file__).resolve().parents[2] / "search_spaces"
SHIPPED = sorted(SPACES_DIR.glob("*.yaml"))


def test_the_issue_lists_these_spaces():
    names = {p.stem for p in SHIPPED}
    assert {"quickstart", "cora_gcn", "fashion_mnist_cnn", "shakespeare_lstm", "cifar100_resnet74"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_space_loads_round_trips_and_builds_its_sampler(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "each space starts with a comment saying what it is for"
    space = load_space(path)
    assert space.name == path.stem
    assert space.include_baselines
    assert parse_space(yaml.safe_load(space.to_yaml()), where=str(path)) == space
    make_sampler(space)
    assert space.describe().startswith(f"search space {path.stem!r}")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_validate_prints_the_resolved_space(path, capsys):
    assert main(["validate", str(path), "--samples", "32"]) == 0
    out = capsys.readouterr().out
    assert f"ok: {path} is a valid search space" in out
    assert "searched:" in out and "baseline costs (vs FP32): CR " in out
    assert "cost range relative to FP32 over 32 random samples" in out


def test_quickstart_is_a_small_cpu_search_on_cora():
    space = load_space(SPACES_DIR / "quickstart.yaml")
    assert (space.task, space.budget) == ("cora/gcn", "default")
    assert 24 <= space.num_trials <= 30 and space.concurrency == 2
    assert space.resources.cpus == 1 and space.resources.gpus == 0
    assert space.sampler.name == "nsga2" and space.sampler.seed is not None
    assert len(space.schedule.searched()) >= 6


def test_language_model_space_minimises_bits_per_character():
    space = load_space(SPACES_DIR / "shakespeare_lstm.yaml")
    assert space.directions == ("minimize", "minimize") and space.objective.metric == "val_bpc"
    assert space.baseline["min_bits"] == 5


def test_gpu_space_asks_for_fractional_gpus():
    space = load_space(SPACES_DIR / "cifar100_resnet74.yaml")
    assert space.budget == "paper" and 0 < space.resources.gpus < 1


def test_validate_reports_the_constraint_share(capsys):
    assert main(["validate", str(SPACES_DIR / "cora_gcn.yaml"), "--samples", "64"]) == 0
    out = capsys.readouterr().out
    assert "meet max_relative_cost 0.0625" in out
    assert "FP32 1.000*" in out  # the FP32 baseline is over the constraint


def test_validate_bad_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: cora/gcn\ntrials: 4\nschedule:\n  min_bits: {low: 6, high: 2}\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {bad}:4: schedule.min_bits.low=6: low <= high must hold, but got "
                            "(low=6, high=2); swap the bounds (both are inclusive)\n")


def test_validate_bad_sampler_option_exits_2(tmp_path, capsys):
    bad = tmp_path / "opt.yaml"
    bad.write_text("task: digits/mlp\ntrials: 4\nsampler: {name: tpe, options: {n_startup: 3}}\n",
                   encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {bad}: sampler.options.n_startup=3: unknown option of sampler tpe")


def test_validate_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "search space file not found" in capsys.readouterr().err
