"""Define-by-run suggestions on real Optuna studies: validity, bounds, baselines, constraints."""

from __future__ import annotations

import math
import warnings

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpt_search.costs import summarize_schedule
from cpt_search.presets import full_precision, preset, static
from cpt_search.schedule import FLIPS, FORMS, Schedule
from cpt_search.search.suggest import (CONSTRAINT_KEY, encode_schedule, enqueue_baselines, is_feasible,
                                       schedule_from_params, suggest_schedule)
from cpt_search.space import parse_space

optuna.logging.set_verbosity(optuna.logging.WARNING)
PROFILES = ("cosine", "linear", "exp", "rex")

WIDE = {
    "task": "digits/mlp", "trials": 8, "include_baselines": True,
    "schedule": {
        "profile": list(PROFILES), "form": list(FORMS), "flip": list(FLIPS),
        "num_cycles": {"low": 1, "high": 32, "log": True},
        "min_bits": {"low": 2, "high": 6}, "bits_span": {"low": 0, "high": 5},
        "min_grad_bits": [6, 8], "warmup_frac": {"low": 0.0, "high": 0.3}, "warmup_bits": [None, 32],
    },
}


def study_for(space, seed=0):
    return optuna.create_study(directions=list(space.directions),
                               sampler=optuna.samplers.RandomSampler(seed=seed))


# ---------------------------------------------------------------------- property: valid and in bounds


@st.composite
def spaces(draw):
    schedule: dict = {}
    for name, values in (("profile", PROFILES), ("form", FORMS), ("flip", FLIPS)):
        chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True))
        schedule[name] = chosen if len(chosen) > 1 or draw(st.booleans()) else chosen[0]
    low = draw(st.integers(1, 8))
    schedule["num_cycles"] = {"low": low, "high": draw(st.integers(low, 40)), "log": draw(st.booleans())}
    min_low = draw(st.integers(1, 10))
    min_high = draw(st.integers(min_low, 12))
    schedule["min_bits"] = {"low": min_low, "high": min_high}
    if draw(st.booleans()):
        span_low = draw(st.integers(0, 4))
        schedule["bits_span"] = {"low": span_low, "high": draw(st.integers(span_low, 8))}
    else:
        schedule["max_bits"] = draw(st.integers(min_high, 32))
    grad_low = draw(st.integers(4, 8))
    schedule["min_grad_bits"] = {"low": grad_low, "high": draw(st.integers(grad_low, 10))}
    schedule["grad_bits_span"] = draw(st.sampled_from([0, [0, 2], {"low": 0, "high": 3}]))
    schedule["warmup_frac"] = draw(st.sampled_from([0.0, [0.0, 0.1], {"low": 0.0, "high": 0.4}]))
    schedule["warmup_bits"] = draw(st.sampled_from([None, 32, [None, 32], {"low": 4, "high": 16}]))
    schedule["cooldown_frac"] = draw(st.sampled_from([0.0, [0.0, 0.1], {"low": 0.0, "high": 0.3}]))
    schedule["cooldown_bits"] = draw(st.sampled_from([None, 32, [None, 32], {"low": 4, "high": 16}]))
    return parse_space({"task": "digits/mlp", "trials": 4, "schedule": schedule})


def within(dim, value):
    low, high = dim.bounds()
    return dim.contains(value) if not isinstance(low, (int, float)) else low <= value <= high


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spaces(), st.integers(0, 2**16))
def test_every_suggested_schedule_is_valid_and_within_the_declared_bounds(space, seed):
    study = study_for(space, seed)
    dims = space.schedule
    for _ in range(6):
        trial = study.ask()
        schedule = suggest_schedule(space, trial)
        assert isinstance(schedule, Schedule)
        schedule.tracks(space.cost_steps)  # evaluable over the run
        assert within(dims["profile"], schedule.profile)
        assert within(dims["form"], schedule.form)
        assert within(dims["num_cycles"], schedule.num_cycles)
        assert within(dims["min_bits"], schedule.min_bits)
        if dims["bits_span"] is not None:
            assert within(dims["bits_span"], schedule.max_bits - schedule.min_bits)
        else:
            assert within(dims["max_bits"], schedule.max_bits)
        assert within(dims["min_grad_bits"], schedule.min_grad_bits)
        assert within(dims["grad_bits_span"], schedule.max_grad_bits - schedule.min_grad_bits)
        assert within(dims["warmup_frac"], schedule.warmup_frac)
        asks_flip = schedule.form == "triangular" and schedule.profile in ("exp", "rex")
        assert ("flip" in trial.params) == (asks_flip and dims["flip"].searched)
        if asks_flip:
            assert within(dims["flip"], schedule.flip)
        if schedule.warmup_frac > 0 and dims["warmup_bits"].searched:
            assert "warmup_bits" in trial.params
        assert within(dims["cooldown_frac"], schedule.cooldown_frac)
        assert ("cooldown_bits" in trial.params) == (schedule.cooldown_frac > 0
                                                     and dims["cooldown_bits"].searched)
        assert set(trial.params) <= set(dims.searched())
        # What the trial records is what was built.
        assert trial.user_attrs["schedule"] == schedule.to_dict()
        assert trial.user_attrs["label"] == schedule.label
        assert trial.user_attrs["relative_cost"] == pytest.approx(
            summarize_schedule(schedule, space.cost_steps).relative_cost)
        assert trial.user_attrs["feasible"] is True
        # The parameters reproduce the schedule, and encoding it gives parameters that do too.
        assert schedule_from_params(space, trial.params) == schedule
        params, missing = encode_schedule(space, schedule)
        assert missing == [] and set(params) == set(trial.params)
        assert schedule_from_params(space, params) == schedule
        study.tell(trial, [0.5, trial.user_attrs["relative_cost"]])


def test_a_space_with_nothing_searched_suggests_nothing():
    space = parse_space({"task": "digits/mlp", "trials": 1})
    trial = study_for(space).ask()
    assert suggest_schedule(space, trial) == preset("CR")
    assert trial.params == {}


def test_no_warmup_keeps_the_schedule_canonical():
    space = parse_space({"task": "digits/mlp", "trials": 1, "schedule": {"warmup_bits": 32}})
    assert suggest_schedule(space, study_for(space).ask()) == preset("CR")


def test_no_cooldown_keeps_the_schedule_canonical_and_a_cooldown_asks_its_bits():
    space = parse_space({"task": "digits/mlp", "trials": 1, "schedule": {"cooldown_bits": [16, 32]}})
    assert suggest_schedule(space, study_for(space).ask()) == preset("CR")
    space = parse_space({"task": "digits/mlp", "trials": 1,
                         "schedule": {"cooldown_frac": [0.1], "cooldown_bits": [16, 32]}})
    trial = study_for(space).ask()
    schedule = suggest_schedule(space, trial)
    assert schedule.cooldown_frac == 0.1 and schedule.cooldown_bits == trial.params["cooldown_bits"]


# ---------------------------------------------------------------------- baselines


def test_enqueued_baselines_return_their_schedules_with_their_parameters():
    space = parse_space(WIDE)
    study = study_for(space)
    labels = enqueue_baselines(study, space)
    assert labels == [label for label, _ in space.baseline_schedules()]
    expected = dict(space.baseline_schedules())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the expected out-of-range notices are silenced
        for label in labels:
            trial = study.ask()
            schedule = suggest_schedule(space, trial)
            assert schedule == expected[label]
            assert trial.user_attrs["label"] == label and trial.user_attrs["baseline"] is True
            params, missing = encode_schedule(space, schedule)
            assert trial.params == params and missing == []
            study.tell(trial, [0.5, trial.user_attrs["relative_cost"]])
    # Static 8/8 sits outside min_bits 2..6 but still carries every unconditional parameter, so the
    # samplers' intersection search space keeps every dimension.
    static_trial = study.trials[labels.index("static 8/8")]
    assert static_trial.params["min_bits"] == 8 and static_trial.params["bits_span"] == 0
    assert static_trial.params["profile"] in PROFILES
    fp32 = study.trials[labels.index("FP32")]
    assert fp32.params["min_bits"] == 32
    assert Schedule.from_dict(fp32.user_attrs["schedule"]) == full_precision()
    # Trials after the suite are sampled.
    trial = study.ask()
    suggest_schedule(space, trial)
    assert "baseline" not in trial.user_attrs and trial.params


def test_a_trial_with_a_schedule_attr_and_no_params_suggests_nothing():
    space = parse_space(WIDE)
    study = study_for(space)
    study.enqueue_trial({}, user_attrs={"schedule": static(4, 8).to_dict(), "label": "mine"})
    trial = study.ask()
    assert suggest_schedule(space, trial) == static(4, 8)
    assert trial.params == {} and trial.user_attrs["label"] == "mine"


def test_baselines_outside_the_categorical_choices_report_what_they_miss():
    space = parse_space({**WIDE, "schedule": {**WIDE["schedule"], "profile": ["cosine", "linear"]}})
    params, missing = encode_schedule(space, preset("ER"))
    assert missing == ["profile"] and "profile" not in params
    # A static schedule's shape does not matter, so it takes an in-space value instead.
    params, missing = encode_schedule(space, static(8, 8))
    assert missing == [] and params["profile"] == "cosine"


def test_baselines_run_through_rays_optuna_trial_wrapper():
    from ray.tune.search.optuna.optuna_search import _OptunaTrialSuggestCaptor as captor_cls
    space = parse_space(WIDE)
    study = study_for(space)
    enqueue_baselines(study, space)
    captor = captor_cls(study.ask())
    assert suggest_schedule(space, captor) == space.baseline_schedules()[0][1]
    assert set(captor.captured_values) == set(encode_schedule(space, preset("CR"))[0])


# ---------------------------------------------------------------------- constraints


def test_constrained_space_marks_trials_for_the_samplers():
    limit = 0.04
    space = parse_space({**WIDE, "constraints": {"max_relative_cost": limit}})
    study = study_for(space)
    feasible_seen = infeasible_seen = 0
    for _ in range(30):
        trial = study.ask()
        schedule = suggest_schedule(space, trial)
        cost = trial.user_attrs["relative_cost"]
        assert trial.user_attrs["constraint"] == pytest.approx(cost - limit)
        assert trial.user_attrs["feasible"] is (cost <= limit) is is_feasible(space, schedule)
        feasible_seen += cost <= limit
        infeasible_seen += cost > limit
        study.tell(trial, [1.0 - cost, cost])  # infeasible ones look great: only constraints exclude them
    assert feasible_seen and infeasible_seen
    for frozen in study.trials:
        assert frozen.constraints == {CONSTRAINT_KEY: pytest.approx(frozen.user_attrs["constraint"])}
    assert study.best_trials and all(t.user_attrs["feasible"] for t in study.best_trials)


def test_is_feasible_uses_real_steps_when_given():
    space = parse_space({"task": "digits/mlp", "trials": 1, "constraints": {"max_relative_cost": 0.038}})
    cr32 = preset("CR", num_cycles=32)
    # Over 200 steps the short periods round down more often than over the nominal 10,000.
    assert not is_feasible(space, cr32)
    assert is_feasible(space, cr32, total_steps=200)
    assert math.isclose(summarize_schedule(cr32, 200).relative_cost, 0.03622, abs_tol=1e-4)


def test_without_a_constraint_everything_is_feasible():
    space = parse_space({"task": "digits/mlp", "trials": 1})
    trial = study_for(space).ask()
    suggest_schedule(space, trial)
    assert trial.user_attrs["feasible"] is True and "constraint" not in trial.user_attrs
    assert is_feasible(space, full_precision())
