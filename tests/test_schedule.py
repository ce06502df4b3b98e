"""Exact schedule values: the reference vectors of docs/method.md §1, a naive differential implementation, invariants."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpt_search import Schedule, preset, static
from cpt_search.errors import ConfigError, UnknownNameError
from cpt_search.presets import PRESET_NAMES

from reference_schedule import bits_at, growth

VECTOR_STEPS = [0, 1000, 2000, 4000, 6000, 7999, 8000, 10000, 12000, 16000, 63999]
REFERENCE_VECTORS = {  # docs/method.md §1: 64,000 steps, n = 8, bits 3-8
    "CR": [3, 3, 4, 6, 7, 8, 3, 4, 6, 3, 8],
    "CT": [8, 8, 7, 6, 4, 3, 3, 4, 6, 8, 8],
    "ER": [3, 5, 6, 7, 8, 8, 3, 6, 7, 3, 8],
    "ETH": [8, 8, 8, 7, 6, 3, 3, 6, 7, 8, 8],
    "RTH": [8, 5, 4, 3, 3, 3, 3, 3, 3, 8, 8],
}


@pytest.mark.parametrize("name", REFERENCE_VECTORS)
def test_reference_test_vectors(name):
    bits, grad_bits = preset(name).tracks(64_000)
    assert bits[VECTOR_STEPS].tolist() == REFERENCE_VECTORS[name]
    assert set(grad_bits.tolist()) == {8}


def _naive(schedule: Schedule, total: int) -> list[int]:
    return [bits_at(t, total, schedule.profile, schedule.form, schedule.flip, schedule.num_cycles,
                    schedule.min_bits, schedule.max_bits, schedule.warmup_frac, schedule.warmup_bits)
            for t in range(total)]


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("total,cycles,low,high,warmup", [
    (1001, 3, 2, 6, 0.0),     # odd steps, a last period shorter than the rest
    (777, 5, 4, 8, 0.1),      # warm-up at max bits
    (640, 2, 1, 32, 0.25),    # the widest range
    (97, 97, 3, 8, 0.0),      # one step per period
])
def test_every_preset_matches_the_naive_formula(name, total, cycles, low, high, warmup):
    schedule = preset(name, min_bits=low, max_bits=high, num_cycles=cycles, warmup_frac=warmup)
    bits, _ = schedule.tracks(total)
    assert bits.tolist() == _naive(schedule, total)


def test_warmup_then_cycles_starts_at_the_bottom():
    schedule = preset("CR", warmup_frac=0.125, warmup_bits=32)
    bits, grad_bits = schedule.tracks(800)
    assert bits[:100].tolist() == [32] * 100 and grad_bits[:100].tolist() == [32] * 100
    assert bits[100] == 3 and grad_bits[100] == 8
    assert schedule.warmup_steps(800) == 100 and schedule.period_steps(800) == 88


def test_warmup_step_count_rounds_half_to_even():
    assert preset("CR", warmup_frac=0.25).warmup_steps(10) == 2  # 2.5 -> 2
    assert preset("CR", warmup_frac=0.35).warmup_steps(10) == 4  # 3.5 -> 4


def test_gradient_track_follows_the_same_shape():
    schedule = preset("CR", min_grad_bits=4, max_grad_bits=8, min_bits=4, max_bits=8)
    bits, grad_bits = schedule.tracks(1000)
    np.testing.assert_array_equal(bits, grad_bits)


def test_static_and_full_precision():
    assert set(static(6).tracks(100)[0].tolist()) == {6}
    bits, grad_bits = static(32, 32).tracks(10)
    assert bits.tolist() == [32] * 10 and grad_bits.tolist() == [32] * 10
    assert static(8).label == "static 8/8" and static(32).label == "FP32"


def test_bits_at_agrees_with_tracks():
    schedule = preset("RTV", num_cycles=3)
    bits, grad_bits = schedule.tracks(500)
    for step in (0, 1, 166, 167, 333, 334, 499):
        assert schedule.bits_at(step, 500) == (bits[step], grad_bits[step])


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(PRESET_NAMES),
    low=st.integers(1, 32), span=st.integers(0, 31), cycles=st.integers(1, 40),
    total=st.integers(1, 3000), warmup=st.floats(0, 0.9), warmup_bits=st.integers(1, 32),
)
def test_bounds_are_never_exceeded_and_are_reached(name, low, span, cycles, total, warmup, warmup_bits):
    high = min(32, low + span)
    schedule = preset(name, min_bits=low, max_bits=high, num_cycles=cycles, warmup_frac=warmup,
                      warmup_bits=warmup_bits)
    cycle_steps = total - schedule.warmup_steps(total)
    if cycle_steps < cycles:
        with pytest.raises(ConfigError, match="total_steps"):
            schedule.tracks(total)
        return
    bits, _ = schedule.tracks(total)
    cyc = bits[schedule.warmup_steps(total):]
    assert cyc.min() >= low and cyc.max() <= high
    assert np.all(bits[: schedule.warmup_steps(total)] == warmup_bits)
    # A growth period starts exactly at the lower bound (z = 0) and ends near the upper one; how near
    # depends on the profile (exp stops at 1 - e^-4 of the range, rex rises only at the very end), so
    # the top counts as reachable when the naive formula's last step of a period rounds to it.
    period = schedule.period_steps(total)
    has_growth_period = schedule.form == "repeated" or cycles >= 2
    if has_growth_period and period >= 2:
        assert cyc.min() == low
        last_growth = growth(schedule.profile, (period - 1) / period, low, high)
        # the first growth period is complete: period 0 (repeated) or period 1 (triangular)
        complete = schedule.form == "repeated" or cyc.size >= 2 * period
        if round(last_growth) == high and complete:
            assert cyc.max() == high


@settings(max_examples=100, deadline=None)
@given(st.builds(
    lambda constants, **fields: Schedule.from_dict({**fields, **constants}),
    profile=st.sampled_from(["cosine", "linear", "exp", "rex"]),
    form=st.sampled_from(["repeated", "triangular"]),
    flip=st.sampled_from(["vertical", "horizontal"]),
    num_cycles=st.integers(1, 64), min_bits=st.integers(1, 8), max_bits=st.integers(8, 32),
    warmup_frac=st.floats(0, 0.99),
    constants=st.fixed_dictionaries({"exp_rate": st.floats(0.1, 10), "rex_beta": st.floats(0, 0.99)}),
))
def test_round_trip_equality_and_hash(schedule):
    again = Schedule.from_dict(schedule.to_dict())
    assert again == schedule and hash(again) == hash(schedule)
    assert {schedule: 1}[again] == 1


def test_schedules_are_frozen():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        preset("CR").min_bits = 4  # type: ignore[misc]


@pytest.mark.parametrize("kwargs,match", [
    (dict(min_bits=0), r"min_bits=0: bits must be an integer in 1\.\.32"),
    (dict(max_bits=33), r"max_bits=33: bits must be an integer in 1\.\.32"),
    (dict(min_bits=6, max_bits=4), r"min_bits <= max_bits must hold, but got \(min_bits=6, max_bits=4\)"),
    (dict(min_grad_bits=8, max_grad_bits=6), r"min_grad_bits <= max_grad_bits"),
    (dict(num_cycles=0), r"num_cycles=0: num_cycles >= 1 must hold"),
    (dict(num_cycles=2.5), r"num_cycles=2.5: num_cycles must be an integer"),
    (dict(min_bits=True), r"min_bits=True: bits must be an integer"),
    (dict(warmup_frac=1.0), r"warmup_frac=1.0: 0 <= warmup_frac < 1 must hold"),
    (dict(warmup_frac=math.nan), r"warmup_frac=nan"),
    (dict(form="zigzag"), r"form='zigzag': form must be one of repeated, triangular"),
    (dict(flip="diagonal"), r"flip='diagonal'"),
    (dict(profile="exp", exp_rate=0), r"exp_rate=0: exp_rate in \[1e-06, 1e\+06\] must hold"),
    (dict(profile="rex", rex_beta=1.0), r"rex_beta=1.0: rex_beta in \[0, 1\) must hold"),
])
def test_invalid_parameters_name_key_and_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Schedule.from_dict(kwargs)


def test_shape_constants_belong_to_their_profile():
    assert "exp_rate" not in preset("CR").to_dict() and preset("ER").to_dict()["exp_rate"] == 4.0
    with pytest.raises(ConfigError, match="profile cosine takes no shape constant 'exp_rate'"):
        Schedule(profile="cosine", shape={"exp_rate": 2.0})


def test_unknown_profile_and_keys():
    with pytest.raises(UnknownNameError, match=r"profile='cosin'.*did you mean 'cosine'"):
        Schedule(profile="cosin")
    with pytest.raises(ConfigError, match=r"space\.yaml: min_bit: unknown schedule parameter; use keys from"):
        Schedule.from_dict({"min_bit": 3}, where="space.yaml")
    with pytest.raises(ConfigError, match=r"^space\.yaml: max_bits=99"):
        Schedule.from_dict({"max_bits": 99}, where="space.yaml")
    with pytest.raises(ConfigError, match=r"total_steps=0"):
        preset("CR").tracks(0)


@settings(max_examples=150, deadline=None)
@given(
    schedule=st.builds(
        lambda constants, **fields: Schedule.from_dict({**fields, **constants}),
        profile=st.sampled_from(["cosine", "linear", "exp", "rex"]),
        form=st.sampled_from(["repeated", "triangular"]),
        flip=st.sampled_from(["vertical", "horizontal"]),
        num_cycles=st.integers(1, 12), min_bits=st.integers(1, 8), max_bits=st.integers(8, 12),
        min_grad_bits=st.integers(6, 8), max_grad_bits=st.integers(8, 9),
        warmup_frac=st.sampled_from([0.0, 0.1, 0.25]), warmup_bits=st.sampled_from([None, 4, 32]),
        cooldown_frac=st.sampled_from([0.0, 0.1, 0.3]), cooldown_bits=st.sampled_from([None, 4, 32]),
        constants=st.fixed_dictionaries({"exp_rate": st.floats(0.5, 8), "rex_beta": st.floats(0, 0.99)}),
    ),
    total=st.integers(40, 400),
)
def test_canonical_schedule_trains_identically(schedule, total):
    canonical = schedule.canonical()
    for bits, canonical_bits in zip(schedule.tracks(total), canonical.tracks(total)):
        np.testing.assert_array_equal(bits, canonical_bits)
    assert canonical.canonical() == canonical


def test_canonical_merges_free_parameters():
    assert static(5, 8).canonical() == preset("ER", min_bits=5, max_bits=5, num_cycles=3).canonical()
    assert preset("CR").replace(flip="horizontal").canonical() == preset("CR").canonical()
    assert preset("CR").replace(exp_rate=2.0).canonical() == preset("CR")
    assert preset("ER").replace(exp_rate=2.0).canonical() != preset("ER")  # exp uses its rate
    assert preset("RTH").canonical() != preset("RTV").canonical()  # rex triangles' flips differ
    assert static(5, 8).replace(warmup_frac=0.1).canonical() == static(5, 8)  # warm-up at 5/8 anyway
    assert static(5, 8).replace(warmup_frac=0.1, warmup_bits=32).canonical() != static(5, 8)


# ---------------------------------------------------------------------- the closing phase (cool-down)


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("total,cycles,warmup,cooldown,cooldown_bits", [
    (1001, 3, 0.0, 0.1, 32),   # odd steps, full-precision close
    (777, 5, 0.1, 0.25, None),  # warm-up and a cool-down at max bits
    (97, 80, 0.0, 0.15, 16),   # one step per period between the phases
])
def test_cooldown_matches_the_naive_formula(name, total, cycles, warmup, cooldown, cooldown_bits):
    schedule = preset(name, min_bits=2, max_bits=6, num_cycles=cycles, warmup_frac=warmup,
                      cooldown_frac=cooldown, cooldown_bits=cooldown_bits)
    naive = [bits_at(t, total, schedule.profile, schedule.form, schedule.flip, schedule.num_cycles,
                     schedule.min_bits, schedule.max_bits, warmup, None, cooldown, cooldown_bits)
             for t in range(total)]
    assert schedule.tracks(total)[0].tolist() == naive


def test_cooldown_is_the_last_steps_step_exact():
    schedule = preset("CR", warmup_frac=0.125, warmup_bits=32, cooldown_frac=0.125, cooldown_bits=32)
    bits, grad_bits = schedule.tracks(800)
    assert schedule.cooldown_steps(800) == 100 and schedule.period_steps(800) == 75  # ceil(600 / 8)
    assert bits[:100].tolist() == [32] * 100 and bits[700:].tolist() == [32] * 100
    assert grad_bits[700:].tolist() == [32] * 100  # a full-precision close quantizes no errors
    assert bits[100] == 3 and bits[699] != 32 and grad_bits[699] == 8
    # the cycles are those of the same schedule without the phases, over the 600 steps between them
    np.testing.assert_array_equal(bits[100:700], preset("CR").tracks(600)[0])


def test_cooldown_step_count_rounds_half_to_even_and_grad_bits_follow_the_rule():
    assert preset("CR", cooldown_frac=0.25).cooldown_steps(10) == 2  # 2.5 -> 2
    assert preset("CR", cooldown_frac=0.35).cooldown_steps(10) == 4  # 3.5 -> 4
    quantized = preset("CR", min_grad_bits=6, max_grad_bits=8, cooldown_frac=0.1, cooldown_bits=12)
    assert (quantized.cooldown_bits, quantized.cooldown_grad_bits) == (12, 8)  # the grad track's top
    assert preset("CR", cooldown_frac=0.1).cooldown_bits == 8  # None = max_bits
    explicit = Schedule(cooldown_frac=0.1, cooldown_bits=32, cooldown_grad_bits=16)
    assert explicit.tracks(100)[1][-1] == 16


@pytest.mark.parametrize("kwargs,match", [
    (dict(cooldown_frac=1.0), r"cooldown_frac=1.0: 0 <= cooldown_frac < 1 must hold"),
    (dict(cooldown_frac=-0.1), r"cooldown_frac=-0.1"),
    (dict(warmup_frac=0.5, cooldown_frac=0.5), r"warmup_frac \+ cooldown_frac < 1 must hold"),
    (dict(cooldown_bits=0), r"cooldown_bits=0: bits must be an integer in 1\.\.32"),
])
def test_invalid_cooldown_names_key_and_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Schedule.from_dict(kwargs)


def test_too_few_steps_between_the_phases_is_refused():
    with pytest.raises(ConfigError, match=r"total_steps=20.*warm-up of 2 steps and a cool-down of 10"):
        preset("CR", num_cycles=9, warmup_frac=0.1, cooldown_frac=0.5).tracks(20)


def test_cooldown_label_round_trip_and_canonical_form():
    schedule = preset("CR", cooldown_frac=0.1, cooldown_bits=32)
    assert schedule.label == "CR 3-8/8 n=8 +cooldown 0.1@32"
    assert Schedule.from_dict(schedule.to_dict()) == schedule
    assert preset("CR").replace(cooldown_bits=32).canonical() == preset("CR")  # no cool-down: free
    assert static(5, 8).replace(cooldown_frac=0.2).canonical() == static(5, 8)  # at its own bits
    assert static(5, 8).replace(cooldown_frac=0.2, cooldown_bits=32).canonical() != static(5, 8)
    for candidate in (static(5, 8).replace(cooldown_frac=0.2), preset("CR").replace(cooldown_bits=4)):
        for track, canonical_track in zip(candidate.tracks(50), candidate.canonical().tracks(50)):
            np.testing.assert_array_equal(track, canonical_track)
