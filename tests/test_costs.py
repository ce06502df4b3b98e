"""The BitOPs cost model (docs/method.md §2)."""

import numpy as np
import pytest

from cpt_search import preset, static
from cpt_search.costs import (
    BASELINE_8_8_RELATIVE_COST, LayerMacs, relative_step_cost, summarize_schedule, summarize_tracks,
    training_bitops,
)
from cpt_search.errors import ConfigError


def test_static_baselines_relative_to_fp32():
    assert relative_step_cost(8, 8) == pytest.approx(0.0625)
    assert relative_step_cost(6, 6) == pytest.approx(0.03515625)
    assert relative_step_cost(32, 32) == 1.0
    assert BASELINE_8_8_RELATIVE_COST == 0.0625


def test_schedule_cost_is_the_mean_of_step_costs():
    bits = np.array([3, 8, 8, 4])
    grad = np.array([8, 8, 8, 8])
    expected = np.mean([(b * b + 2 * b * 8) / 3072 for b in bits])
    summary = summarize_tracks(bits, grad)
    assert summary.relative_cost == pytest.approx(expected)
    assert summary.relative_cost_vs_8_8 == pytest.approx(expected / 0.0625)
    assert summary.mean_bits == 5.75


def test_cpt_paper_saving_against_static_8_8():
    # CPT 3-8/8 vs static 8/8 saves about 36.7 % (docs/method.md §4).
    saving = 1 - summarize_schedule(preset("CR", num_cycles=32), 64_000).relative_cost_vs_8_8
    assert saving == pytest.approx(0.367, abs=0.002)


def test_training_bitops_per_layer_and_paper_figures():
    layers = [LayerMacs("conv1", 1000, True), LayerMacs("conv2", 500, True), LayerMacs("fc", 10, False)]
    bits = np.array([4, 8])
    grad = np.array([8, 8])
    samples = np.array([32, 16])
    report = training_bitops(bits, grad, layers, samples)
    step = lambda b, g: b * b + 2 * b * g  # noqa: E731
    expected = 32 * (1500 * step(4, 8) + 10 * 3072) + 16 * (1500 * step(8, 8) + 10 * 3072)
    paper = 32 * 1510 * step(4, 8) + 16 * 1510 * step(8, 8)
    assert report.bitops == expected
    assert report.paper_bitops == paper
    assert report.fp32_bitops == 48 * 1510 * 3072
    assert report.paper_bitops < report.bitops < report.fp32_bitops


def test_full_precision_run_costs_exactly_fp32():
    layers = [LayerMacs("a", 7, True), LayerMacs("b", 3, False)]
    bits, grad = static(32, 32).tracks(5)
    report = training_bitops(bits, grad, layers, 10)
    assert report.bitops == report.paper_bitops == report.fp32_bitops
    assert report.relative_cost == 1.0


def test_mismatched_tracks_are_rejected():
    with pytest.raises(ConfigError, match="equal-length"):
        training_bitops(np.array([8, 8]), np.array([8]), [], 1)


def test_cooldown_cost_is_exact_step_by_step():
    # 100 steps: 80 cycling CR 3-8/8 steps, then 20 at 32/32 (a full-precision close).
    schedule = preset("CR", cooldown_frac=0.2, cooldown_bits=32)
    cycles_bits, _ = preset("CR").tracks(80)
    step_costs = [(b * b + 2 * b * 8) / 3072 for b in cycles_bits] + [1.0] * 20
    summary = summarize_schedule(schedule, 100)
    assert summary.relative_cost == pytest.approx(np.mean(step_costs), rel=1e-12)
    assert summary.mean_grad_bits == pytest.approx((80 * 8 + 20 * 32) / 100)
    layers = [LayerMacs("conv", 1000, True), LayerMacs("fc", 10, False)]
    report = training_bitops(*schedule.tracks(100), layers, 4)
    expected = 4 * sum(1000 * (b * b + 2 * b * g) + 10 * 3072 for b, g in zip(*schedule.tracks(100)))
    assert report.bitops == expected
    assert report.paper_bitops == 4 * 1010 * sum(c * 3072 for c in step_costs)


def test_cooldown_at_max_bits_costs_like_that_many_top_steps():
    closing = summarize_schedule(preset("CR", num_cycles=4, cooldown_frac=0.25), 400).relative_cost
    cycles = summarize_schedule(preset("CR", num_cycles=4), 300).relative_cost
    assert closing == pytest.approx(0.75 * cycles + 0.25 * relative_step_cost(8, 8), rel=1e-12)
