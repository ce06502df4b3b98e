"""Job lists of the analyses: every preset and baseline present, windows on exactly the right steps."""

import numpy as np
import pytest

from cpt_search.analysis.jobs import (
    BASELINE,
    CONTROL,
    EARLY,
    LATE,
    PRESET,
    Job,
    critical_period_jobs,
    reproduce_jobs,
    reproduce_schedules,
    static_row_name,
)
from cpt_search.errors import ConfigError
from cpt_search.presets import PRESET_NAMES, preset, static

TEN = ["CR", "CT", "LR", "LT", "ER", "ETH", "ETV", "RR", "RTV", "RTH"]


def test_reproduce_rows_are_ten_presets_then_baselines():
    rows = reproduce_schedules()
    assert [r[0] for r in rows] == TEN + ["static 8/8", "FP32"]
    assert [r[1] for r in rows] == [PRESET] * 10 + [BASELINE] * 2
    assert rows[0][2] == preset("CR", min_bits=3, max_bits=8, num_cycles=8, min_grad_bits=8)
    assert tuple(PRESET_NAMES) == tuple(TEN)


def test_reproduce_rows_other_bounds_add_static_max_bits():
    rows = reproduce_schedules(min_bits=2, max_bits=6, grad_bits=6, num_cycles=4)
    assert [r[0] for r in rows] == TEN + ["static 6/6", "static 8/8", "FP32"]
    assert rows[-3][2] == static(6, 6)
    assert all(r[2].num_cycles == 4 and (r[2].min_bits, r[2].max_bits) == (2, 6) for r in rows[:10])
    assert static_row_name(6, 6) == "static 6/6"


def test_reproduce_jobs_every_row_every_seed_unique_keys():
    jobs = reproduce_jobs(3)
    assert len(jobs) == 12 * 3
    assert len({job.key for job in jobs}) == len(jobs)
    assert [job.seed for job in jobs[:12]] == [0] * 12  # seed-major
    assert Job.from_dict(jobs[5].to_dict()) == jobs[5]


@pytest.mark.parametrize("kwargs, key", [
    (dict(min_bits=8, max_bits=8), "--min-bits"),
    (dict(min_bits=6, max_bits=4), "--min-bits"),
    (dict(min_bits=0), "--min-bits"),
    (dict(max_bits=33), "--max-bits"),
    (dict(grad_bits=40), "--grad-bits"),
    (dict(num_cycles=0), "--cycles"),
])
def test_reproduce_bad_bounds(kwargs, key):
    with pytest.raises(ConfigError) as info:
        reproduce_schedules(**kwargs)
    assert info.value.key == key and "\n" not in str(info.value)


def test_seeds_must_be_positive():
    with pytest.raises(ConfigError, match="seeds >= 1"):
        reproduce_jobs(0)


def test_critical_jobs_windows_exact_steps():
    jobs = critical_period_jobs(2, impair_bits=3, base_bits=8, grad_bits=8,
                                impair_fracs=(0.5, 0.0, 0.1))
    rows = [job.row for job in jobs if job.seed == 0]
    assert rows == ["control 8/8", "early 0.1", "late 0.1", "early 0.5", "late 0.5"]
    by_row = {job.row: job for job in jobs if job.seed == 1}
    assert by_row["control 8/8"].kind == CONTROL and by_row["control 8/8"].schedule.is_static
    total = 200
    early, _ = by_row["early 0.1"].schedule.tracks(total)
    late, grad = by_row["late 0.1"].schedule.tracks(total)
    assert by_row["early 0.1"].kind == EARLY and by_row["late 0.1"].kind == LATE
    assert np.flatnonzero(early == 3).tolist() == list(range(0, 20))
    assert np.flatnonzero(late == 3).tolist() == list(range(180, 200))
    assert set(early[20:]) == {8} and set(late[:180]) == {8} and set(grad) == {8}
    half, _ = by_row["late 0.5"].schedule.tracks(7)  # rint(3.5) = 4 (half to even)
    assert half.tolist() == [8, 8, 8, 8, 3, 3, 3]
    assert by_row["early 0.5"].schedule.max_bits == 8  # evaluation runs at the base precision


def test_critical_control_always_included():
    jobs = critical_period_jobs(1, impair_fracs=(0.25,))
    assert [job.kind for job in jobs] == [CONTROL, EARLY, LATE]


@pytest.mark.parametrize("kwargs, key, text", [
    (dict(impair_fracs=(0.0, 1.0)), "--impair-fracs", "0 <= impair fraction < 1"),
    (dict(impair_fracs=(-0.1,)), "--impair-fracs", "0 <= impair fraction < 1"),
    (dict(impair_fracs=(0.25, 0.25)), "--impair-fracs", "distinct"),
    (dict(impair_fracs=()), "--impair-fracs", "at least one"),
    (dict(impair_bits=8, base_bits=8), "--impair-bits", "impair_bits < bits"),
    (dict(impair_bits=0), "--impair-bits", "1..32"),
    (dict(base_bits=64), "--bits", "1..32"),
])
def test_critical_bad_inputs(kwargs, key, text):
    with pytest.raises(ConfigError) as info:
        critical_period_jobs(1, **kwargs)
    assert info.value.key == key and text in str(info.value)


def test_critical_late_windows_with_recovery():
    jobs = critical_period_jobs(1, impair_bits=2, base_bits=8, grad_bits=8,
                                impair_fracs=(0, 0.25, 0.5), recovery_frac=0.25)
    by_row = {job.row: job for job in jobs}
    late, _ = by_row["late 0.5"].schedule.tracks(200)
    assert np.flatnonzero(late == 2).tolist() == list(range(50, 150))
    early, _ = by_row["early 0.25"].schedule.tracks(200)
    assert np.flatnonzero(early == 2).tolist() == list(range(0, 50))
    with pytest.raises(ConfigError) as info:
        critical_period_jobs(1, impair_fracs=(0.5, 0.75), recovery_frac=0.5)
    assert info.value.key == "--impair-fracs" and "impair fraction + recovery <= 1" in str(info.value)
    with pytest.raises(ConfigError, match="0 <= recovery fraction < 1"):
        critical_period_jobs(1, recovery_frac=1.0)
