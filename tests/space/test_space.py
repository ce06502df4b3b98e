"""Search-space files: the strict schema, its one-line errors, resolution and the baseline suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from cpt_search.errors import ConfigError
from cpt_search.presets import full_precision, preset, static
from cpt_search.space import (NOMINAL_TOTAL_STEPS, Choices, Fixed, FloatRange, IntRange, load_space,
                              parse_space)

MINIMAL = "task: digits/mlp\ntrials: 4\n"


def write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_space(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- every schema error case

# (file text, the "file:line: key=value" prefix after the path, words the message must contain)
ERROR_CASES = [
    pytest.param("trials: 4\n", ": task", ["required key is missing", "add 'task:'"], id="missing-task"),
    pytest.param("task: digits/mlp\n", ": trials", ["required key is missing"], id="missing-trials"),
    pytest.param(MINIMAL + "trails: 5\n", ":3: trails=5", ["unknown key", "did you mean 'trials'"],
                 id="unknown-top-key"),
    pytest.param(MINIMAL + "resources: {cpus: 1, gpu: 1}\n", ":3: resources.gpu=1",
                 ["unknown key", "did you mean 'gpus'"], id="unknown-nested-key"),
    pytest.param(MINIMAL + "trials: 5\n", ":3", ["duplicate key"], id="duplicate-key"),
    pytest.param("task: digits/mlp\ntrials: [4\n", ":3", ["YAML syntax error"], id="yaml-syntax"),
    pytest.param("task: digits/mlp\ntrials: four\n", ":2: trials='four'", ["valid integer", "whole number"],
                 id="wrong-type-int"),
    pytest.param("task: digits/mlp\ntrials: 0\n", ":2: trials=0", ["greater than or equal to 1"],
                 id="trials-zero"),
    pytest.param(MINIMAL + "concurrency: 1.5\n", ":3: concurrency=1.5", ["integer"], id="concurrency-float"),
    pytest.param(MINIMAL + "resources: {cpus: 0}\n", ":3: resources.cpus=0", ["greater than 0"],
                 id="cpus-zero"),
    pytest.param(MINIMAL + "resources: {gpus: -0.5}\n", ":3: resources.gpus=-0.5",
                 ["greater than or equal to 0"], id="gpus-negative"),
    pytest.param(MINIMAL + "include_baselines: yes please\n", ":3: include_baselines='yes please'",
                 ["valid boolean", "true or false"], id="bool-type"),
    pytest.param(MINIMAL + "seeds: [0, -1]\n", ":3: seeds.1=-1", ["seeds must be >= 0"], id="seed-negative"),
    pytest.param(MINIMAL + "seeds: [1, 1]\n", ":3: seeds=[1, 1]", ["unique"], id="seed-repeated"),
    pytest.param(MINIMAL + "seeds: []\n", ":3: seeds=[]", ["at least one seed"], id="seeds-empty"),
    pytest.param(MINIMAL + "name: 'my search'\n", ":3: name='my search'", ["letters, digits"], id="bad-name"),
    pytest.param("task: digits/mpl\ntrials: 4\n", ":1: task='digits/mpl'",
                 ["unknown task", "did you mean 'digits/mlp'"], id="unknown-task"),
    pytest.param(MINIMAL + "budget: tinny\n", ":3: budget='tinny'",
                 ["unknown budget", "did you mean 'tiny'"], id="unknown-budget"),
    pytest.param(MINIMAL + "sampler: {name: nsga}\n", ":3: sampler.name='nsga'",
                 ["unknown sampler", "did you mean 'nsga2'"], id="unknown-sampler"),
    pytest.param(MINIMAL + "objective: {direction: up}\n", ":3: objective.direction='up'",
                 ["maximize or minimize"], id="bad-direction"),
    pytest.param(MINIMAL + "objective: {direction: minimize}\n", ":3: objective.direction='minimize'",
                 ["better when higher", "direction: maximize"], id="direction-against-task"),
    pytest.param(MINIMAL + "objective: {metric: accuracy}\n", ":3: objective.metric='accuracy'",
                 ["reports the metric 'val_accuracy'"], id="wrong-metric"),
    pytest.param(MINIMAL + "objective: {metric: test_accuracy}\n", ":3: objective.metric='test_accuracy'",
                 ["selects on the validation metric 'val_accuracy'", "never selected on",
                  "metric: val_accuracy"], id="select-on-test"),
    pytest.param(MINIMAL + "constraints: {max_relative_cost: 1.5}\n",
                 ":3: constraints.max_relative_cost=1.5", ["less than or equal to 1"], id="constraint-high"),
    pytest.param(MINIMAL + "constraints: {max_relative_cost: 0}\n",
                 ":3: constraints.max_relative_cost=0", ["greater than 0"], id="constraint-zero"),
    pytest.param(MINIMAL + "schedule: {profle: cosine}\n", ":3: schedule.profle",
                 ["unknown schedule dimension", "did you mean 'profile'"], id="unknown-dimension"),
    pytest.param(MINIMAL + "schedule: {profile: cosin}\n", ":3: schedule.profile='cosin'",
                 ["profile must be one of cosine, linear, exp, rex"], id="unknown-profile"),
    pytest.param(MINIMAL + "schedule: {profile: [cosine, rexx]}\n", ":3: schedule.profile.choices.1='rexx'",
                 ["profile must be one of"], id="unknown-profile-choice"),
    pytest.param(MINIMAL + "schedule: {form: {low: 1, high: 2}}\n", ":3: schedule.form",
                 ["categorical"], id="range-for-categorical"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 6, high: 2}\n", ":4: schedule.min_bits.low=6",
                 ["low <= high must hold, but got (low=6, high=2)"], id="low-above-high"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 0, high: 4}\n", ":4: schedule.min_bits.low=0",
                 ["must be in 1..32"], id="bits-below-range"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: 33\n", ":4: schedule.min_bits=33",
                 ["must be in 1..32"], id="bits-above-range"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: 3.5\n", ":4: schedule.min_bits=3.5",
                 ["must be an integer"], id="bits-float"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 2}\n", ":4: schedule.min_bits",
                 ["needs both low and high"], id="range-missing-high"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 2, hi: 4}\n", ":4: schedule.min_bits.hi=4",
                 ["unknown key of a range", "did you mean 'high'"], id="range-unknown-key"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: {low: 0, high: 8, log: true}\n",
                 ":4: schedule.num_cycles.low=0", ["must be in 1.."], id="cycles-zero"),
    pytest.param(MINIMAL + "schedule:\n  warmup_frac: {low: 0, high: 0.5, log: true}\n",
                 ":4: schedule.warmup_frac.low=0.0", ["log range needs low > 0"], id="log-low-zero"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: {low: 1, high: 8, log: true, step: 1}\n",
                 ":4: schedule.num_cycles.step=1", ["log and step"], id="log-and-step"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: {low: 1, high: 8, step: 2}\n",
                 ":4: schedule.num_cycles.step=2", ["multiple of step"], id="step-off-grid"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: {low: 1, high: 8, log: maybe}\n",
                 ":4: schedule.num_cycles.log='maybe'", ["log must be true or false"], id="log-not-bool"),
    pytest.param(MINIMAL + "schedule:\n  warmup_frac: 1.0\n", ":4: schedule.warmup_frac=1.0",
                 ["must be in [0, 1)"], id="warmup-one"),
    pytest.param(MINIMAL + "schedule:\n  profile: []\n", ":4: schedule.profile.choices=[]",
                 ["non-empty list"], id="empty-choices"),
    pytest.param(MINIMAL + "schedule:\n  profile: [exp, exp]\n", ":4: schedule.profile.choices.1='exp'",
                 ["unique"], id="repeated-choice"),
    pytest.param(MINIMAL + "schedule:\n  profile: {choices: [exp], low: 1}\n",
                 ":4: schedule.profile.low=1", ["choices take no other keys"], id="choices-plus-range"),
    pytest.param(MINIMAL + "schedule:\n  bits_span: 2\n  max_bits: 8\n", ":5: schedule.max_bits=8",
                 ["give bits_span or max_bits, not both"], id="span-and-max"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 2, high: 30}\n  bits_span: {low: 0, high: 5}\n",
                 ":5: schedule.bits_span", ["can exceed 32 bits (up to 35)", "lower the highest bits_span to 2"],
                 id="span-over-32"),
    pytest.param(MINIMAL + "schedule:\n  min_bits: {low: 2, high: 6}\n  max_bits: 5\n",
                 ":5: schedule.max_bits=5", ["every min_bits must be <= every max_bits", "search bits_span"],
                 id="max-below-min-range"),
    pytest.param(MINIMAL + "schedule:\n  min_grad_bits: 8\n  max_grad_bits: 6\n",
                 ":5: schedule.max_grad_bits=6", ["every min_grad_bits must be <= every max_grad_bits"],
                 id="grad-max-below-min"),
    pytest.param(MINIMAL + "schedule:\n  warmup_bits: 0\n", ":4: schedule.warmup_bits=0",
                 ["must be in 1..32", "or null"], id="warmup-bits-zero"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: {low: 1, high: 100000}\n  warmup_frac: 0.5\n",
                 ":4: schedule.num_cycles", ["leaves periods without steps (220 steps after"], id="cycles-beyond-steps"),
    pytest.param(MINIMAL + "schedule:\n  num_cycles: 400\n  warmup_frac: 0.1\n  cooldown_frac: 0.2\n",
                 ":4: schedule.num_cycles", ["(308 steps after the warm-up and cool-down)", "or cooldown_frac"],
                 id="cycles-beyond-steps-with-cooldown"),
    pytest.param(MINIMAL + "schedule:\n  warmup_frac: {low: 0, high: 0.5}\n  cooldown_frac: [0, 0.5]\n",
                 ":5: schedule.cooldown_frac", ["warmup_frac + cooldown_frac < 1 must hold"],
                 id="warmup-plus-cooldown-one"),
    pytest.param(MINIMAL + "schedule:\n  cooldown_frac: 1.0\n", ":4: schedule.cooldown_frac=1.0",
                 ["must be in [0, 1)"], id="cooldown-one"),
    pytest.param(MINIMAL + "baselines: {min_bits: 8, max_bits: 4}\n", ":3: baselines.min_bits=8",
                 ["min_bits <= max_bits must hold"], id="baseline-bounds"),
    pytest.param(MINIMAL + "baselines: {min_bit: 3}\n", ":3: baselines.min_bit=3",
                 ["unknown key", "did you mean 'min_bits'"], id="baseline-unknown-key"),
    pytest.param("- task: digits/mlp\n", "", ["must be a mapping"], id="not-a-mapping"),
    pytest.param(MINIMAL + "sampler: nsga2\n", ":3: sampler='nsga2'", ["must be a mapping of keys"],
                 id="section-not-a-mapping"),
    pytest.param(MINIMAL + "schedule: [1, 2]\n", ":3: schedule=[1, 2]", ["valid dictionary"],
                 id="schedule-not-a-mapping"),
]


@pytest.mark.parametrize("text, prefix, words", ERROR_CASES)
def test_every_schema_error_is_one_line_naming_file_key_and_value(tmp_path, text, prefix, words):
    message = error_of(tmp_path, text)
    path = str(tmp_path / "space.yaml")
    assert message.startswith(path + prefix), message
    for word in words:
        assert word in message, message


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="search space file not found"):
        load_space(tmp_path / "nope.yaml")


def test_empty_file_is_a_config_error(tmp_path):
    assert "must be a mapping" in error_of(tmp_path, "")


def test_errors_carry_a_fix(tmp_path):
    message = error_of(tmp_path, MINIMAL + "schedule:\n  min_bits: {low: 6, high: 2}\n")
    assert message.endswith("; swap the bounds (both are inclusive)")


# ---------------------------------------------------------------------- resolution


def test_minimal_space_resolves_to_cpt_defaults(tmp_path):
    space = load_space(write(tmp_path, MINIMAL, "tiny_digits.yaml"))
    assert space.name == "tiny_digits"
    assert (space.task, space.budget, space.seeds, space.num_trials) == ("digits/mlp", "default", (0,), 4)
    assert space.concurrency == 1 and space.resources.cpus == 1.0 and space.resources.gpus == 0.0
    assert space.objective.direction == "maximize" and space.objective.metric == "val_accuracy"
    assert space.directions == ("maximize", "minimize")
    assert space.sampler.name == "nsga2" and space.sampler.seed is None and space.sampler.options == {}
    assert space.constraints.max_relative_cost is None
    assert space.include_baselines is False
    assert space.schedule.searched() == {}
    assert space.schedule["profile"] == Fixed("cosine")
    assert space.schedule["max_bits"] == Fixed(8) and space.schedule["bits_span"] is None
    assert space.schedule["grad_bits_span"] == Fixed(0) and space.schedule["max_grad_bits"] is None
    assert space.cost_steps == 440  # digits/mlp default: exact, from the task's metadata
    assert space.total_trials == 4


def test_direction_comes_from_the_task_when_left_out():
    space = parse_space({"task": "shakespeare/lstm", "trials": 2})
    assert space.objective.direction == "minimize"
    assert space.objective.metric == "val_bpc"
    assert space.directions == ("minimize", "minimize")


def test_dimension_spec_forms():
    space = parse_space({"task": "digits/mlp", "trials": 2, "schedule": {
        "profile": ["exp", "rex"], "form": {"choices": ["triangular"]}, "num_cycles": {"low": 1, "high": 32, "log": True},
        "min_bits": {"low": 2, "high": 6, "step": 2}, "bits_span": [0, 2, 4],
        "warmup_frac": {"low": 0.0, "high": 0.3, "step": 0.1}, "warmup_bits": [None, 32],
    }})
    s = space.schedule
    assert s["profile"] == Choices(("exp", "rex"))
    assert s["form"] == Choices(("triangular",))
    assert s["num_cycles"] == IntRange(1, 32, log=True)
    assert s["min_bits"] == IntRange(2, 6, step=2)
    assert s["bits_span"] == Choices((0, 2, 4)) and s["max_bits"] is None
    assert s["warmup_frac"] == FloatRange(0.0, 0.3, step=0.1)
    assert s["warmup_bits"] == Choices((None, 32))
    assert s.bits_range() == (2, 10)
    assert list(s.searched()) == ["profile", "form", "num_cycles", "min_bits", "bits_span",
                                  "warmup_frac", "warmup_bits"]


def test_seeds_accept_one_int():
    assert parse_space({"task": "digits/mlp", "trials": 1, "seeds": 7}).seeds == (7,)


def test_max_bits_range_above_min_bits_range_is_allowed():
    space = parse_space({"task": "digits/mlp", "trials": 1,
                         "schedule": {"min_bits": {"low": 2, "high": 4}, "max_bits": {"low": 4, "high": 8}}})
    assert space.schedule.bits_range() == (2, 8)


def test_resolved_round_trips_and_is_plain_yaml(tmp_path):
    text = """\
        task: cora/gcn
        trials: 10
        seeds: [0, 1]
        concurrency: 2
        sampler: {name: tpe, seed: 3, options: {n_startup_trials: 4}}
        schedule:
          profile: [cosine, rex]
          num_cycles: {low: 2, high: 16, log: true}
          min_bits: {low: 2, high: 6}
          bits_span: {low: 0, high: 5}
          warmup_frac: [0.0, 0.1]
        constraints: {max_relative_cost: 0.05}
        include_baselines: true
    """
    space = load_space(write(tmp_path, text, "round.yaml"))
    resolved = space.resolved()
    again = parse_space(yaml.safe_load(yaml.safe_dump(resolved)), where=space.source)
    assert again == space
    assert yaml.safe_load(space.to_yaml()) == resolved


def test_describe_lists_searched_and_fixed_dimensions():
    space = parse_space({"task": "cora/gcn", "trials": 5, "include_baselines": True,
                         "constraints": {"max_relative_cost": 0.05},
                         "schedule": {"profile": ["cosine", "exp"], "flip": ["vertical", "horizontal"]}})
    text = space.describe()
    assert "profile         choice of cosine, exp" in text
    assert "flip            choice of vertical, horizontal  (only for triangular exp/rex)" in text
    assert "min_bits        3" in text
    assert "5 sampled + 12 baselines" in text
    assert "relative cost <= 0.05 of FP32" in text


# ---------------------------------------------------------------------- baselines


def test_baseline_suite_is_the_ten_presets_then_static_and_fp32():
    space = parse_space({"task": "digits/mlp", "trials": 1, "include_baselines": True})
    suite = space.baseline_schedules()
    labels = [label for label, _ in suite]
    assert labels == ["CR", "CT", "LR", "LT", "ER", "ETH", "ETV", "RR", "RTV", "RTH", "static 8/8", "FP32"]
    assert dict(suite)["CR"] == preset("CR", min_bits=3, max_bits=8, num_cycles=8, min_grad_bits=8)
    assert dict(suite)["FP32"] == full_precision()
    assert space.total_trials == 1 + 12


def test_baselines_follow_fixed_dimensions_and_add_static_max_bits():
    space = parse_space({"task": "digits/mlp", "trials": 1, "include_baselines": True,
                         "schedule": {"min_bits": 4, "max_bits": 6, "num_cycles": 2, "min_grad_bits": 6}})
    suite = dict(space.baseline_schedules())
    assert suite["RR"] == preset("RR", min_bits=4, max_bits=6, num_cycles=2, min_grad_bits=6)
    assert suite["static 6/6"] == static(6, 6)
    assert suite["static 8/8"] == static(8, 8)
    assert len(suite) == 13


def test_baselines_section_overrides_and_duplicates_are_dropped():
    space = parse_space({"task": "digits/mlp", "trials": 1, "include_baselines": True,
                         "baselines": {"min_bits": 8, "max_bits": 8, "grad_bits": 8}})
    suite = space.baseline_schedules()
    # 8-8 presets are all static 8/8: one entry, then FP32.
    assert [label for label, _ in suite] == ["static 8/8", "FP32"]
    assert suite[0][1].is_static


# ---------------------------------------------------------------------- layering


def test_space_and_pareto_import_no_heavy_dependency():
    code = ("import sys, cpt_search.space, cpt_search.pareto\n"
            "print(','.join(m for m in ('torch', 'optuna', 'ray', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
