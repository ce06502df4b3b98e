"""Piecewise schedules: exact step boundaries of windows and staircases, validation, round trips."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpt_search.costs import summarize_schedule
from cpt_search.errors import ConfigError
from cpt_search.piecewise import (
    PiecewiseSchedule,
    Segment,
    impairment_window,
    schedule_from_any_dict,
    staircase,
)
from cpt_search.presets import preset


def test_early_window_bit_counts_exact():
    schedule = impairment_window(3, 8, 8, 0.0, 0.25)
    bits, grad_bits = schedule.tracks(200)
    assert bits.dtype == np.int64 and grad_bits.dtype == np.int64
    assert (bits[:50] == 3).all() and (bits[50:] == 8).all()
    assert np.count_nonzero(bits == 3) == 50
    assert (grad_bits == 8).all()


def test_late_window_bit_counts_exact():
    bits, _ = impairment_window(3, 8, 8, 0.9, 1.0).tracks(200)
    assert (bits[:180] == 8).all() and (bits[180:] == 3).all()
    assert np.count_nonzero(bits == 3) == 20


def test_middle_window_boundaries_round_half_to_even():
    # 0.25 * 10 = 2.5 -> 2 and 0.75 * 10 = 7.5 -> 8 (half to even, as numpy.rint).
    bits, _ = impairment_window(4, 8, 6, 0.25, 0.75).tracks(10)
    assert bits.tolist() == [8, 8, 4, 4, 4, 4, 4, 4, 8, 8]


def test_empty_window_is_static_control():
    schedule = impairment_window(3, 8, 8, 0.0, 0.0)
    assert schedule.is_static
    assert schedule.tracks(7)[0].tolist() == [8] * 7
    assert schedule.max_bits == 8 and schedule.max_grad_bits == 8


def test_window_bounds_and_eval_precision():
    schedule = impairment_window(3, 8, 6, 0.0, 0.5)
    assert (schedule.min_bits, schedule.max_bits) == (3, 8)
    assert (schedule.min_grad_bits, schedule.max_grad_bits) == (6, 6)
    assert not schedule.is_static


def test_staircase_exact_steps_per_stage():
    schedule = staircase([2, 3, 4, 5, 6, 7, 8], 37, grad_bits=8)
    assert schedule.nominal_steps == 7 * 37
    bits, grad_bits = schedule.tracks(schedule.nominal_steps)
    for i, b in enumerate(range(2, 9)):
        assert (bits[i * 37:(i + 1) * 37] == b).all()
    assert (grad_bits == 8).all()
    assert schedule.label == "staircase 2..8/8 x37"


@given(st.lists(st.integers(1, 32), min_size=1, max_size=12), st.integers(1, 50))
def test_staircase_each_stage_exactly_n_steps(bits_list, n):
    bits, _ = staircase(bits_list, n).tracks(len(bits_list) * n)
    assert bits.tolist() == [b for b in bits_list for _ in range(n)]


@given(st.floats(0, 1), st.floats(0, 1), st.integers(1, 5000))
def test_window_covers_rint_boundaries(a, b, total_steps):
    start, end = min(a, b), max(a, b)
    bits, _ = impairment_window(2, 9, 8, start, end).tracks(total_steps)
    lo, hi = int(np.rint(start * total_steps)), int(np.rint(end * total_steps))
    expected = np.full(total_steps, 9)
    expected[lo:hi] = 2
    assert bits.tolist() == expected.tolist()


def test_round_trip_and_hashable():
    schedule = impairment_window(3, 8, 8, 0.75, 1.0, name="late 0.25")
    again = PiecewiseSchedule.from_dict(schedule.to_dict())
    assert again == schedule and hash(again) == hash(schedule)
    assert schedule_from_any_dict(schedule.to_dict()) == schedule
    cr = preset("CR")
    assert schedule_from_any_dict(cr.to_dict()) == cr
    assert schedule.label == "late 0.25"
    assert impairment_window(3, 8, 8, 0.0, 0.25).label == "3/8 [0,0.25) | 8/8 [0.25,1)"


def test_costs_work_through_tracks():
    summary = summarize_schedule(impairment_window(3, 8, 8, 0.0, 0.5), 100)
    assert summary.mean_bits == pytest.approx(5.5)
    expected = ((9 + 48) + (64 + 128)) / 2 / (3 * 32 * 32)
    assert summary.relative_cost == pytest.approx(expected)


@pytest.mark.parametrize("args, key, text", [
    ((3, 8, 8, 0.5, 0.25), "start_frac", "start_frac <= end_frac must hold"),
    ((3, 8, 8, -0.1, 0.25), "start_frac", "0 <= fraction <= 1"),
    ((3, 8, 8, 0.0, 1.5), "end_frac", "0 <= fraction <= 1"),
    ((8, 8, 8, 0.0, 0.5), "impair_bits", "impair_bits < base_bits must hold"),
    ((0, 8, 8, 0.0, 0.5), "impair_bits", "bits must be an integer in 1..32"),
    ((3, 33, 8, 0.0, 0.5), "base_bits", "bits must be an integer in 1..32"),
])
def test_bad_windows_are_one_line_config_errors(args, key, text):
    with pytest.raises(ConfigError) as info:
        impairment_window(*args)
    assert info.value.key == key
    assert text in str(info.value) and "\n" not in str(info.value)


def test_segments_must_tile():
    with pytest.raises(ConfigError, match="contiguous"):
        PiecewiseSchedule((Segment(0, 0.5, 8, 8), Segment(0.6, 1, 8, 8)))
    with pytest.raises(ConfigError, match="cover training from 0 to 1"):
        PiecewiseSchedule((Segment(0, 0.5, 8, 8),))
    with pytest.raises(ConfigError, match="at least one"):
        PiecewiseSchedule(())
    with pytest.raises(ConfigError, match="unknown piecewise schedule key"):
        PiecewiseSchedule.from_dict({"kind": "piecewise", "segments": [[0, 1, 8, 8]], "x": 1})
    with pytest.raises(ConfigError, match="steps_per_bits >= 1"):
        staircase([2, 3], 0)
