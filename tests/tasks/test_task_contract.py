"""One contract for every registered task, run with its ``tiny`` budget (a new task is tested for free).

A task whose data is not on this machine (CIFAR offline) is skipped with the loader's own message.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from cpt_search.data import prepare_dataset_root
from cpt_search.errors import DataError, UnknownNameError
from cpt_search.presets import static
from cpt_search.tasks import TASKS
from cpt_search.training import TrialSpec, run_trial

# The offline data folder, found as the shared conftest does (CPT_SEARCH_DATA or ../shared/data).
from tests.conftest import shared_data_dir

DATA_DIR = shared_data_dir()


@pytest.mark.parametrize("name", TASKS.names())
def test_task_declares_budgets_metric_and_dataset(name):
    task = TASKS.get(name)
    assert "default" in task.budgets and task.dataset
    for budget in task.budgets.values():
        assert dataclasses.is_dataclass(budget) and budget.__dataclass_params__.frozen
        assert budget.epochs >= 1
    assert task.metric_name and isinstance(task.higher_is_better, bool)
    # Every built-in task selects on a validation split and reports a test split apart.
    assert task.metric_name.startswith("val_") and task.test_metric_name == "test_" + task.metric_name[4:]
    if name == "shakespeare/lstm":
        assert (task.metric_name, task.higher_is_better) == ("val_bpc", False)


def test_unknown_budget_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'default'"):
        TASKS.get("digits/mlp").budget("defualt")


@pytest.mark.parametrize("name", TASKS.names())
def test_task_metadata_knows_its_exact_steps_for_every_budget(name):
    task = TASKS.get(name)
    for budget in task.budget_names:
        steps = task.total_steps(budget)
        assert isinstance(steps, int) and steps >= task.budget(budget).epochs


@pytest.mark.parametrize("name", TASKS.names())
def test_task_trains_on_its_tiny_budget(name):
    task = TASKS.get(name)
    try:
        root = prepare_dataset_root(TASKS.get(name).dataset, DATA_DIR)
    except DataError as error:
        pytest.skip(f"data for {name} not on this machine: {error}")
    epochs = []
    schedule = static(8, 8)
    result = run_trial(TrialSpec(task=name, budget="tiny", schedule=schedule, data_dir=str(root),
                                 threads=1), on_epoch=epochs.append)

    budget = task.budget("tiny")
    assert len(result.epochs) == -(-budget.epochs // budget.eval_every) and tuple(epochs) == result.epochs
    assert result.epochs[-1].epoch == budget.epochs
    assert result.total_steps == result.epochs[-1].step > 0
    assert result.total_steps % budget.epochs == 0
    assert result.total_steps == task.total_steps("tiny")  # the metadata's exact count, without data
    assert math.isfinite(result.metric) and math.isfinite(result.epochs[-1].loss)
    assert (result.metric_name, result.higher_is_better) == (task.metric_name, task.higher_is_better)
    if task.metric_name.endswith("accuracy"):
        assert 0.0 <= result.metric <= 1.0 and result.accuracy == result.metric
        assert result.test_metric is not None and 0.0 <= result.test_metric <= 1.0
    else:
        assert result.accuracy is None and result.metric > 0  # bits per character
        assert result.test_metric is not None and result.test_metric > 0
    assert result.test_metric_name == task.test_metric_name
    assert result.test_metric == result.epochs[-1].test_metric
    assert result.bit_runs == ((8, 8, result.total_steps),)
    assert result.mean_bits == 8.0 and result.relative_cost_vs_8_8 == pytest.approx(1.0)
    # FP32 layers (the classifier) make the per-layer figure at least the paper's.
    assert result.fp32_bitops > result.bitops >= result.paper_bitops > 0
    assert result.epochs[-1].bitops_so_far == result.bitops
