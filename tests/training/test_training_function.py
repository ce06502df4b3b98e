"""Training functions: the user's loop under a schedule, the cost known up front, the contract enforced."""

from __future__ import annotations

import numpy as np
import pytest

import cpt_search
from cpt_search.costs import training_bitops
from cpt_search.errors import ConfigError
from cpt_search.presets import preset, static
from cpt_search.tasks.resolve import resolve_task
from cpt_search.training import TrialDiverged, TrialSpec, run_trial
from cpt_search.training.runner import expand_runs
from tests.training import function_tasks

TASK = "tests.training.function_tasks:train"
SCHEDULE = preset("CR", min_bits=3, max_bits=8, num_cycles=3, min_grad_bits=6)


def spec(budget=None, schedule=SCHEDULE, **kwargs) -> TrialSpec:
    return TrialSpec(task=TASK, budget=budget if budget is not None else {"epochs": 2, "batches": 6},
                     schedule=schedule, threads=1, **kwargs)


def test_every_step_runs_at_the_scheduled_bits_and_evaluation_at_the_top():
    result = run_trial(spec({"epochs": 3, "batches": 5}))
    planned = np.stack(SCHEDULE.tracks(15), axis=1).tolist()
    assert [list(pair) for pair in function_tasks.SEEN["train_bits"]] == planned  # what the layer ran at
    assert set(function_tasks.SEEN["eval_bits"]) == {(SCHEDULE.max_bits, SCHEDULE.max_grad_bits)}
    bits, grad_bits = expand_runs(result.bit_runs)
    assert np.stack([bits, grad_bits], axis=1).tolist() == planned
    assert len({b for b, _ in planned}) >= 4  # the schedule really moved
    assert (result.total_steps, len(result.epochs), result.metric_name) == (15, 3, "val_accuracy")
    assert result.test_metric_name == "test_accuracy"


def test_the_last_report_is_the_result_and_the_budget_is_passed_through():
    budget = {"epochs": 2, "batches": 6, "lr_note": "kept", "sizes": [1, 2]}
    result = run_trial(spec(budget, seed=3))
    assert function_tasks.SEEN["budget"] == budget and function_tasks.SEEN["seed"] == 3
    assert function_tasks.SEEN["threads"] == 1 and function_tasks.SEEN["device"] == "cpu"
    assert result.metric == result.epochs[-1].metric and 0.0 <= result.metric <= 1.0
    assert result.epochs[0].step == 6 and result.epochs[-1].step == 12
    assert result.budget == "epochs=2,batches=6,lr_note=kept,sizes=[1, 2]"


def test_bitops_are_the_counted_macs_times_the_schedule():
    result = run_trial(spec())
    # The MLP's per-sample MACs by hand: 8x32 (quantized first layer), 32x32 (quantized), 32x2 (FP32 last).
    from cpt_search.costs import LayerMacs

    layers = [LayerMacs("0", 8 * 32, True), LayerMacs("2", 32 * 32, True), LayerMacs("4", 32 * 2, False)]
    bits, grad_bits = SCHEDULE.tracks(12)
    expected = training_bitops(bits, grad_bits, layers, function_tasks.BATCH)
    assert result.bitops == pytest.approx(expected.bitops)
    assert result.fp32_bitops == pytest.approx(expected.fp32_bitops)
    assert result.epochs[-1].bitops_so_far == pytest.approx(expected.bitops)
    cheaper = run_trial(spec(schedule=static(4, 6)))
    assert cheaper.bitops < run_trial(spec(schedule=static(8, 8))).bitops


def test_same_seed_same_result():
    first, second = run_trial(spec(seed=5)), run_trial(spec(seed=5))
    assert first.metric == second.metric and first.epochs[-1].loss == second.epochs[-1].loss


def test_the_function_task_declares_its_steps_for_the_space():
    info = resolve_task(TASK)
    assert info.total_steps({"epochs": 4, "batches": 5}) == 20 and info.total_steps("default") == 12
    assert (info.metric_name, info.higher_is_better, info.test_metric_name) == (
        "val_accuracy", True, "test_accuracy")


@pytest.mark.parametrize("fault, message", [
    ({"skip_quantize": True, "skip_attach": True}, "never called ctx.quantize"),
    ({"skip_quantize": True}, "ctx.attach needs the quantized model"),
    ({"skip_attach": True}, "never called ctx.attach"),
    ({"skip_report": True}, "never called ctx.report"),
    ({"missing_steps": 2}, "the optimizer stepped 10 times, but total_steps is 12"),
    ({"extra_steps": 1}, "stepped more than total_steps=12 times"),
    ({"metric": "tensor"}, r"ctx.report\(metric=...\) must be a float"),
])
def test_a_broken_contract_is_one_line(fault, message):
    with pytest.raises(ConfigError, match=message) as caught:
        run_trial(spec({"epochs": 2, "batches": 6, **fault}))
    assert "\n" not in str(caught.value)


def test_a_nan_metric_is_a_diverged_trial():
    with pytest.raises(TrialDiverged, match="the reported metric is nan"):
        run_trial(spec({"epochs": 2, "batches": 6, "metric": "nan"}))


def test_decorator_arguments_are_checked():
    with pytest.raises(ConfigError, match="total_steps must be a positive integer"):
        cpt_search.training_function(total_steps=0)
    with pytest.raises(ConfigError, match="test_metric must be a name other than metric"):
        cpt_search.training_function(metric="val_accuracy", test_metric="val_accuracy")
    with pytest.raises(ConfigError, match="higher_is_better must be True or False"):
        cpt_search.training_function(higher_is_better="yes")
    bare = cpt_search.training_function(lambda ctx: None)
    assert bare.metric_name == "val_accuracy" and bare.total_steps("default") is None


def test_a_bad_declared_step_count_is_one_line():
    broken = cpt_search.training_function(total_steps=lambda budget: budget["epochs"])(lambda ctx: None)
    with pytest.raises(ConfigError, match=r"total_steps\('default'\) raised TypeError"):
        broken.total_steps("default")


def test_an_undecorated_function_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match="decorate it with @cpt_search.training_function"):
        resolve_task("tests.training.function_tasks:undecorated")
