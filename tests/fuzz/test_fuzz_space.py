"""Search spaces: mutations of a valid space are accepted or refused as one line, never a traceback.

Hypothesis mutates one key path of a valid space at a time: wrong types, huge numbers, nan and inf,
deep nesting, unknown keys; the file is validated with the real CLI in-process (task registry,
pydantic, the sampler factory, Optuna). Values that are invalid wherever they appear (nan, inf,
2**64, a list nested 100 deep) must be refused.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from refusal import assert_refused, run_in_process

from cpt_search.search.feasibility import cost_floor
from cpt_search.search.samplers import SAMPLERS, SamplerFactory
from cpt_search.space import load_space

VALID = {
    "name": "fuzz", "task": "digits/mlp", "budget": "tiny", "seeds": [0, 1], "trials": 3,
    "concurrency": 1, "resources": {"cpus": 1, "gpus": 0},
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "sampler": {"name": "nsga2", "seed": 0, "options": {"population_size": 4}},
    "schedule": {"profile": ["cosine", "linear"], "form": "repeated", "num_cycles": {"low": 1, "high": 4},
                 "min_bits": {"low": 2, "high": 6}, "bits_span": {"low": 0, "high": 4},
                 "min_grad_bits": 8, "warmup_frac": [0.0, 0.1], "warmup_bits": [None, 32]},
    "constraints": {"max_relative_cost": 0.5},
    "include_baselines": True,
}
KEY_PATHS = [(key,) for key in VALID] + [
    (section, key) for section in ("resources", "objective", "sampler", "schedule", "constraints")
    for key in VALID[section]] + [("sampler", "options", "population_size"),
                                  ("schedule", "min_bits", "low"), ("schedule", "num_cycles", "high"),
                                  ("seeds", 0)]




def _deep(levels: int):
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


values = st.one_of(
    st.sampled_from([None, True, "", "nope", [], {}, {"unknown_key": 1}, [1, "a"], 0, -1, 2.5, 1e30,
                     math.nan, math.inf, 2**32, 2**64, -2**63, 10**30, _deep(100)]),
    st.integers(), st.floats(), st.text(max_size=12),
)


def _mutated(path: tuple, value) -> dict:
    space = copy.deepcopy(VALID)
    node = space
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return space


def _validate(capsys, tmp_path: Path, space: dict):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False), encoding="utf-8")
    return run_in_process(capsys, "validate", path, "--samples", "2"), path


def _accepted_or_refused(outcome, path: Path) -> None:
    if outcome.code == 0:
        assert outcome.err == "" and f"ok: {path}" in outcome.out
    else:
        assert str(path) in assert_refused(outcome)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(path=st.sampled_from(KEY_PATHS), value=values)
def test_any_single_mutation_is_accepted_or_one_line(tmp_path: Path, capsys, path, value) -> None:
    outcome, file = _validate(capsys, tmp_path, _mutated(path, value))
    _accepted_or_refused(outcome, file)
    hostile = (isinstance(value, float) and not math.isfinite(value)) or value in (2**64, -2**63, 10**30) \
        or value == _deep(100)
    if hostile and path != ("name",):  # a name is a string: 10**30 is not one either, so refused too
        assert outcome.code == 2, (path, value, outcome.out[-300:])


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(section=st.sampled_from([(), ("resources",), ("objective",), ("sampler",), ("constraints",),
                                ("schedule",), ("sampler", "options")]),
       key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_unknown_keys_are_refused(tmp_path: Path, capsys, section, key) -> None:
    space = copy.deepcopy(VALID)
    node = space
    for part in section:
        node = node[part]
    if key in node:
        return
    node[key] = 1
    outcome, file = _validate(capsys, tmp_path, space)
    assert str(file) in assert_refused(outcome)


@pytest.mark.parametrize("path,value,needle", [
    (("seeds",), [2**64], "seeds <= 4294967295 must hold"),
    (("seeds",), 2**32, "seeds <= 4294967295 must hold"),
    (("sampler", "seed"), 2**64, "sampler.seed="),
    (("trials",), 10**30, "trials="),
    (("concurrency",), 10**30, "concurrency="),
    (("resources", "cpus"), math.inf, "resources.cpus=inf"),
    (("resources", "gpus"), math.inf, "resources.gpus=inf"),
    (("constraints", "max_relative_cost"), math.nan, "constraints.max_relative_cost"),
])
def test_huge_and_non_finite_numbers_are_refused_by_key(tmp_path: Path, capsys, path, value, needle) -> None:
    outcome, _ = _validate(capsys, tmp_path, _mutated(path, value))
    assert_refused(outcome, needle)


# Every registered sampler's int/float/bool options, with values of the wrong kind or range.
BAD_OPTION_VALUES = ["abc", 2.5, -5, math.nan, math.inf, 10**30, [1], {"a": 1}, None]


def _typed_options() -> list[tuple[str, str]]:
    import inspect

    pairs = []
    for name in SAMPLERS.names():
        factory = SamplerFactory(SAMPLERS.get(name))
        params = inspect.signature(factory.sampler_cls.__init__).parameters
        for option in factory.option_names():
            text = str(params[option].annotation)
            if {part.strip() for part in text.split("|")} <= {"int", "float", "bool", "None"}:
                pairs.append((name, option))
    return pairs


@pytest.mark.parametrize("sampler,option", _typed_options())
def test_every_sampler_option_is_checked_before_optuna(tmp_path: Path, capsys, sampler, option) -> None:
    refused = 0
    for value in BAD_OPTION_VALUES:
        space = _mutated(("sampler",), {"name": sampler, "seed": 0, "options": {option: value}})
        outcome, file = _validate(capsys, tmp_path, space)
        _accepted_or_refused(outcome, file)
        if outcome.code == 2:
            assert f"sampler.options.{option}" in outcome.err, outcome.err
            refused += 1
    assert refused >= 5, (sampler, option, refused)  # "abc", nan, inf, [1] and {"a": 1} at least


def test_a_bad_sampler_seed_is_reported_as_sampler_seed(tmp_path: Path, capsys) -> None:
    outcome, _ = _validate(capsys, tmp_path, _mutated(("sampler", "seed"), -1))
    assert_refused(outcome, "sampler.seed=-1")


def test_an_impossible_cost_constraint_fails_validate(tmp_path: Path, capsys) -> None:
    space = _mutated(("constraints", "max_relative_cost"), 0.001)
    outcome, file = _validate(capsys, tmp_path, space)
    assert_refused(outcome, "constraints.max_relative_cost=0.001: no schedule of the space can meet it")
    floor = cost_floor(load_space(file))
    assert (floor.forward_bits, floor.grad_bits) == (2, 8)
    outcome, _ = _validate(capsys, tmp_path, _mutated(("constraints", "max_relative_cost"),
                                                      floor.relative_cost))
    assert outcome.code == 0, outcome.err  # the floor itself is reachable: static 2/8 is in the space
