"""Sampler factories: one contract for every registered sampler, plus option checking."""

from __future__ import annotations

import warnings

import optuna
import pytest

from cpt_search.errors import ConfigError
from cpt_search.sampler_registry import SAMPLERS
from cpt_search.search.samplers import make_sampler
from cpt_search.search.suggest import enqueue_baselines, suggest_schedule
from cpt_search.space import parse_space

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = {
    "task": "digits/mlp", "trials": 12, "include_baselines": True,
    "schedule": {
        "profile": ["cosine", "linear", "exp", "rex"], "form": ["repeated", "triangular"],
        "flip": ["vertical", "horizontal"], "num_cycles": {"low": 1, "high": 16, "log": True},
        "min_bits": {"low": 2, "high": 6}, "bits_span": {"low": 0, "high": 4},
        "warmup_frac": [0.0, 0.1], "warmup_bits": [None, 32],
    },
}
# The GP sampler fits a model per suggestion: a shorter study keeps the suite fast.
N_TRIALS = {"gp": 14}


def space_with(name: str, **sampler) -> object:
    return parse_space({**SPACE, "sampler": {"name": name, "seed": 7, **sampler}})


def run_study(space, n_trials: int):
    study = optuna.create_study(directions=list(space.directions), sampler=make_sampler(space))
    enqueue_baselines(study, space)

    def objective(trial):
        schedule = suggest_schedule(space, trial)
        # A made-up trade-off: more bits, better "metric".
        return schedule.min_bits + 0.5 * schedule.max_bits, trial.user_attrs["relative_cost"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=n_trials)
    return study


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_contract_every_sampler_runs_a_seeded_search_with_baselines(name):
    space = space_with(name, options={"population_size": 6} if name == "nsga2" else {})
    n_trials = N_TRIALS.get(name, 24)
    first = run_study(space, n_trials)
    assert len(first.trials) == n_trials
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in first.trials)
    baselines = [t for t in first.trials if t.user_attrs.get("baseline")]
    assert [t.user_attrs["label"] for t in baselines] == [label for label, _ in space.baseline_schedules()]
    sampled = [t for t in first.trials if not t.user_attrs.get("baseline")]
    assert sampled and all(t.params for t in sampled)
    # Seeded: the same space gives the same sequence of parameters.
    second = run_study(space, n_trials)
    assert [t.params for t in first.trials] == [t.params for t in second.trials]


def test_nsga2_population_defaults_to_a_third_of_the_trials():
    assert make_sampler(space_with("nsga2"))._population_size == 4
    big = parse_space({**SPACE, "trials": 300})
    assert make_sampler(big)._population_size == 50
    assert make_sampler(space_with("nsga2", options={"population_size": 10}))._population_size == 10


def test_options_reach_the_sampler():
    tpe = make_sampler(space_with("tpe", options={"n_startup_trials": 3, "multivariate": True}))
    assert tpe._n_startup_trials == 3 and tpe._multivariate is True


def test_crossover_is_chosen_by_name():
    sampler = make_sampler(space_with("nsga2", options={"crossover": "blxalpha"}))
    assert type(sampler._child_generation_strategy._crossover).__name__ == "BLXAlphaCrossover"


def test_unknown_option_is_one_line_naming_it():
    with pytest.raises(ConfigError) as info:
        make_sampler(space_with("nsga2", options={"populaton_size": 8}))
    message = str(info.value)
    assert message.startswith("<string>: sampler.options.populaton_size=8: unknown option of sampler nsga2")
    assert "did you mean 'population_size'?" in message and "\n" not in message


@pytest.mark.parametrize("name, option", [("tpe", "gamma"), ("nsga2", "mutation"), ("gp", "independent_sampler"),
                                          ("random", "constraints_func"), ("nsga2", "seed")])
def test_object_valued_and_reserved_keywords_are_refused(name, option):
    with pytest.raises(ConfigError, match=f"sampler.options.{option}=.*unknown option"):
        make_sampler(space_with(name, options={option: 1}))


def test_bad_crossover_and_values_optuna_rejects_are_config_errors():
    with pytest.raises(ConfigError, match="sampler.options.crossover='blx'.*use one of: uniform, blxalpha"):
        make_sampler(space_with("nsga2", options={"crossover": "blx"}))
    # Optuna rejects it too, but cpt_search's own range check names the option and the rule first.
    with pytest.raises(ConfigError, match=r"sampler.options.population_size=1: 2 <= population_size"):
        make_sampler(space_with("nsga2", options={"population_size": 1}))


def test_constrained_nsga2_keeps_infeasible_schedules_off_the_front():
    space = parse_space({**SPACE, "sampler": {"name": "nsga2", "seed": 3, "options": {"population_size": 6}},
                         "constraints": {"max_relative_cost": 0.04}})
    study = run_study(space, 30)
    infeasible = [t for t in study.trials if not t.user_attrs["feasible"]]
    assert infeasible, "the constraint should bite in this space"
    front = study.best_trials
    assert front and all(t.user_attrs["feasible"] for t in front)
