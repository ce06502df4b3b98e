"""The trial runner: the bits used per step, the BitOPs formula, seeding, divergence, spec round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cpt_search.errors import ConfigError
from cpt_search.presets import full_precision, preset, static
from cpt_search.schedule import Schedule
from cpt_search.training import TrialDiverged, TrialSpec, run_trial
from cpt_search.training.runner import expand_runs, run_lengths

# digits/mlp tiny: 1438 training images, batch 64 -> 22 steps per epoch, 2 epochs.
DIGITS_STEPS = 44


def digits(schedule: Schedule, **kwargs) -> TrialSpec:
    return TrialSpec(task="digits/mlp", budget="tiny", schedule=schedule, threads=1, **kwargs)


def test_bits_used_per_step_are_the_schedule_tracks():
    schedule = preset("RTH", min_bits=3, max_bits=8, num_cycles=4, min_grad_bits=6)
    result = run_trial(digits(schedule))
    bits, grad_bits = expand_runs(result.bit_runs)
    planned_bits, planned_grad_bits = schedule.tracks(DIGITS_STEPS)
    np.testing.assert_array_equal(bits, planned_bits)
    np.testing.assert_array_equal(grad_bits, planned_grad_bits)
    assert len(set(bits.tolist())) >= 4  # the schedule really moved
    assert result.mean_bits == pytest.approx(planned_bits.mean())
    assert result.mean_grad_bits == 6.0


def test_bitops_equal_the_hand_formula_from_the_mlp_layers():
    schedule = preset("CR", min_bits=3, max_bits=8, num_cycles=2)
    result = run_trial(digits(schedule))
    bits, grad_bits = schedule.tracks(DIGITS_STEPS)
    bits, grad_bits = bits.astype(float), grad_bits.astype(float)
    # MLP 64 -> 128 -> 128 -> 10: both hidden layers quantized, the classifier FP32 (last layer).
    quantized_macs, fp32_macs, batch = 64 * 128 + 128 * 128, 128 * 10, 64
    per_step = bits * bits + 2 * bits * grad_bits
    expected = batch * (per_step.sum() * quantized_macs + DIGITS_STEPS * fp32_macs * 3 * 32 * 32)
    assert result.bitops == expected
    assert result.paper_bitops == batch * per_step.sum() * (quantized_macs + fp32_macs)
    assert result.fp32_bitops == batch * DIGITS_STEPS * (quantized_macs + fp32_macs) * 3 * 32 * 32
    assert result.relative_cost == pytest.approx((per_step / (3 * 32 * 32)).mean())
    # Cumulative per epoch: the first epoch's figure covers the first 22 steps only.
    first = batch * (per_step[:22].sum() * quantized_macs + 22 * fp32_macs * 3 * 32 * 32)
    assert result.epochs[0].bitops_so_far == first


def test_full_precision_costs_exactly_fp32():
    result = run_trial(digits(full_precision()))
    assert result.bitops == result.fp32_bitops == result.paper_bitops
    assert result.relative_cost == 1.0 and result.mean_bits == 32.0


def test_same_seed_same_result_other_seed_other_result():
    schedule = preset("CR", num_cycles=2)
    first = run_trial(digits(schedule, seed=3))
    again = run_trial(digits(schedule, seed=3))
    other = run_trial(digits(schedule, seed=4))
    assert [r.loss for r in first.epochs] == [r.loss for r in again.epochs]
    assert first.metric == again.metric
    assert [r.loss for r in first.epochs] != [r.loss for r in other.epochs]


def test_absurd_learning_rate_raises_trial_diverged_with_the_step():
    spec = digits(static(8, 8), budget_overrides={"lr": 1e12})
    with pytest.raises(TrialDiverged) as caught:
        run_trial(spec)
    error = caught.value
    assert 0 < error.step < DIGITS_STEPS
    assert str(error).startswith(f"task digits/mlp: step={error.step}: training diverged: the loss is")
    assert "\n" not in str(error)


def test_unknown_budget_override_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown budget field.*use fields from: epochs, eval_every, batch_size"):
        run_trial(digits(static(8, 8), budget_overrides={"learning_rate": 0.1}))


def test_schedule_with_more_cycles_than_steps_is_a_config_error():
    with pytest.raises(ConfigError, match="num_cycles"):
        run_trial(digits(preset("CR", num_cycles=64)))


def test_bad_device_is_a_config_error():
    with pytest.raises(ConfigError, match="device='tpu9'"):
        run_trial(digits(static(8, 8), device="tpu9"))


def test_result_and_spec_round_trip_through_json():
    spec = digits(preset("ETV", num_cycles=2), seed=1, budget_overrides={"epochs": 1})
    assert TrialSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    result = run_trial(spec)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["total_steps"] == 22 and len(data["epochs"]) == 1
    assert Schedule.from_dict(data["schedule"]) == spec.schedule
    assert "epochs" not in result.to_dict(with_epochs=False)


def test_run_lengths_round_trip():
    bits, grad_bits = np.array([3, 3, 4, 4, 4, 3]), np.array([8, 8, 8, 6, 6, 6])
    runs = run_lengths(bits, grad_bits)
    assert runs == ((3, 8, 2), (4, 8, 1), (4, 6, 2), (3, 6, 1))
    np.testing.assert_array_equal(expand_runs(runs)[0], bits)


def test_spec_is_hashable_and_validated():
    spec = digits(static(8, 8), budget_overrides={"lr": 0.1, "epochs": 1})
    assert spec.budget_overrides == (("epochs", 1), ("lr", 0.1))
    assert hash(spec) == hash(digits(static(8, 8), budget_overrides={"epochs": 1, "lr": 0.1}))
    with pytest.raises(ConfigError, match="threads must be an integer >= 1"):
        TrialSpec(task="digits/mlp", schedule=static(8, 8), threads=0)
    with pytest.raises(ConfigError, match="schedule must be a Schedule"):
        TrialSpec(task="digits/mlp", schedule={"min_bits": 3})
