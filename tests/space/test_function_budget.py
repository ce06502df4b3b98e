"""A space naming a training function: its budget is passed through, its declared steps price the schedules."""

from __future__ import annotations

import pytest

from cpt_search.errors import ConfigError
from cpt_search.space import parse_space

FUNCTION = "tests.training.function_tasks:train"
BASE = {"trials": 2, "sampler": {"name": "random", "seed": 0},
        "schedule": {"num_cycles": 2, "min_bits": {"low": 3, "high": 6}, "bits_span": 2}}


def space(**keys):
    return parse_space({**BASE, **keys}, where="space.yaml")


def test_a_mapping_budget_is_kept_and_prices_the_schedules_at_the_declared_steps():
    parsed = space(task=FUNCTION, budget={"epochs": 5, "batches": 7})
    assert parsed.budget == {"epochs": 5, "batches": 7}
    assert parsed.cost_steps == 35  # the decorator's total_steps for this budget
    assert parsed.objective.metric == "val_accuracy" and parsed.direction == "maximize"
    again = parse_space(parsed.resolved(), where="resolved")  # the logged space reads back the same
    assert again.budget == parsed.budget and again.cost_steps == 35
    assert "budget epochs=5,batches=7" in parsed.describe()


def test_a_budget_name_is_passed_through_too():
    parsed = space(task=FUNCTION, budget="anything")
    assert parsed.budget == "anything" and parsed.cost_steps == 12


@pytest.mark.parametrize("budget, message", [
    ({"epochs": {"nested": 1}}, "budget.epochs={'nested': 1}: a budget mapping holds names and plain values"),
    ({"lr": float("nan")}, "budget.lr=nan: a budget mapping holds names and plain values"),
    ("", "budget='': a budget is a name or a mapping of knobs"),
])
def test_a_bad_function_budget_is_one_line(budget, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        space(task=FUNCTION, budget=budget)


def test_a_declared_step_count_that_fails_names_the_task():
    with pytest.raises(ConfigError, match=r"space.yaml: total_steps=0: total_steps\(\{'epochs': 0\}\) must give a positive"):
        space(task=FUNCTION, budget={"epochs": 0})


def test_a_task_with_named_budgets_refuses_a_mapping():
    with pytest.raises(ConfigError, match=r"budget=\{'epochs': 3\}: task digits/mlp has named budgets"):
        space(task="digits/mlp", budget={"epochs": 3})
