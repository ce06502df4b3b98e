"""The fixed job lists of the analyses: which schedules to train, under which names, for which seeds.

Pure: building the lists needs only the schedule core. A :class:`Job` is one training; its ``row``
names the table row it belongs to (all seeds of one schedule share a row).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np

from cpt_search.bits import check_bits
from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_SEEDS
from cpt_search.piecewise import PiecewiseSchedule, impairment_window, schedule_from_any_dict
from cpt_search.presets import PRESET_NAMES, baseline_schedules, preset
from cpt_search.schedule import Schedule

AnySchedule = Union[Schedule, PiecewiseSchedule]

# Row kinds.
PRESET = "preset"
BASELINE = "baseline"
CONTROL = "control"
EARLY = "early"
LATE = "late"
STAIRCASE = "staircase"
# The error of a job the Tuner never finished (interrupted): rerunning the command trains it.
NOT_RUN = "not run (interrupted)"


@dataclass(frozen=True)
class Job:
    """One training of a fixed analysis.

    Attributes:
        row: the table row (``"CR"``, ``"static 8/8"``, ``"early 0.25"``); seeds of a row share it.
        kind: ``preset``, ``baseline``, ``control``, ``early``, ``late`` or ``staircase``.
        schedule: what to train under.
        seed: the training seed.
        window_frac: length of the impairment window as a fraction of training (critical period).
    """

    row: str
    kind: str
    schedule: AnySchedule
    seed: int
    window_frac: float | None = None

    @property
    def key(self) -> str:
        """Unique within an analysis: ``"<row>#seed<seed>"`` (MLflow runs are looked up by it)."""
        return f"{self.row}#seed{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the schedule as its dict), for Ray's param space and MLflow tags."""
        return {"row": self.row, "kind": self.kind, "schedule": self.schedule.to_dict(),
                "seed": self.seed, "window_frac": self.window_frac}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        """Inverse of :meth:`to_dict`."""
        return cls(row=data["row"], kind=data["kind"],
                   schedule=schedule_from_any_dict(data["schedule"], where="job"),
                   seed=int(data["seed"]), window_frac=data.get("window_frac"))


def check_seeds(seeds: int, *, key: str = "--seeds") -> list[int]:
    """Seeds ``0 .. seeds - 1``; at least one."""
    if isinstance(seeds, bool) or not isinstance(seeds, numbers.Integral) or seeds < 1:
        raise ConfigError("seeds >= 1 must hold", key=key, value=seeds,
                          fix="train each schedule with at least one seed (3 for error bars)")
    if seeds > MAX_SEEDS:
        raise ConfigError(f"seeds <= {MAX_SEEDS} must hold", key=key, value=seeds,
                          fix="a handful of seeds gives error bars (3-5 in the papers)")
    return list(range(int(seeds)))


def reproduce_schedules(*, min_bits: int = 3, max_bits: int = 8, grad_bits: int = 8,
                        num_cycles: int = 8) -> list[tuple[str, str, Schedule]]:
    """``(row, kind, schedule)`` of the ten presets then the static baselines.

    Baselines (:func:`cpt_search.presets.baseline_schedules`): static ``max_bits/grad_bits``,
    static 8/8 when different, FP32. Rows are named by preset name or the baseline's label.

    Raises:
        ConfigError: bits outside ``1..32`` or ``min_bits >= max_bits`` (keys are the CLI flags).
    """
    check_bits("--min-bits", min_bits)
    check_bits("--max-bits", max_bits)
    check_bits("--grad-bits", grad_bits)
    if min_bits >= max_bits:
        raise ConfigError(f"min_bits < max_bits must hold, but got (min_bits={min_bits}, "
                          f"max_bits={max_bits})", key="--min-bits", value=min_bits,
                          fix="cycle between a lower and a higher precision, e.g. 3 and 8")
    if isinstance(num_cycles, bool) or not isinstance(num_cycles, numbers.Integral) \
            or num_cycles < 1:
        raise ConfigError("cycles >= 1 must hold", key="--cycles", value=num_cycles,
                          fix="use 8 as Better Schedules does")
    rows: list[tuple[str, str, Schedule]] = [
        (name, PRESET, preset(name, min_bits=min_bits, max_bits=max_bits, num_cycles=num_cycles,
                              min_grad_bits=grad_bits))
        for name in PRESET_NAMES
    ]
    rows += [(s.label, BASELINE, s) for s in baseline_schedules(max_bits, grad_bits)]
    return rows


def reproduce_jobs(seeds: int, **bounds: int) -> list[Job]:
    """Every (schedule, seed) of ``cpt-search reproduce``, seed-major so early results span rows."""
    rows = reproduce_schedules(**bounds)
    return [Job(row, kind, schedule, seed) for seed in check_seeds(seeds)
            for row, kind, schedule in rows]


def static_row_name(max_bits: int, grad_bits: int) -> str:
    """The row of the static ``max_bits`` baseline that the table's differences refer to."""
    from cpt_search.presets import static

    return static(max_bits, grad_bits).label


def critical_period_jobs(seeds: int, *, impair_bits: int = 3, base_bits: int = 8,
                         grad_bits: int = 8,
                         impair_fracs: Sequence[float] = (0.0, 0.1, 0.25, 0.5),
                         recovery_frac: float = 0.0) -> list[Job]:
    """Early windows ``[0, f)`` and late windows ``[1 - r - f, 1 - r)`` for each ``f``, plus the control.

    A fraction of 0 is the unimpaired control (static ``base_bits``), trained once per seed and
    shared by both curves; it is always included. ``recovery_frac`` (``r``, default 0: late windows
    end the run) leaves the last ``r`` of training at ``base_bits`` after a late window, so an early
    and a late window both get high-precision steps to recover in.

    Raises:
        ConfigError: fractions outside ``0 <= f < 1`` or repeated, ``f + r > 1`` (a late window
            that does not fit), bits out of range, ``impair_bits >= base_bits`` (keys are the CLI
            flags).
    """
    check_bits("--impair-bits", impair_bits)
    check_bits("--bits", base_bits)
    check_bits("--grad-bits", grad_bits)
    if impair_bits >= base_bits:
        raise ConfigError(f"impair_bits < bits must hold, but got (impair_bits={impair_bits}, "
                          f"bits={base_bits})", key="--impair-bits", value=impair_bits,
                          fix="an impairment window trains at lower precision than the rest")
    fracs = _check_fracs(impair_fracs)
    if isinstance(recovery_frac, bool) or not isinstance(recovery_frac, numbers.Real) \
            or not 0.0 <= float(recovery_frac) < 1.0:
        raise ConfigError("0 <= recovery fraction < 1 must hold", key="--recovery-frac",
                          value=recovery_frac, fix="leave e.g. 0.25 of training after late windows")
    recovery = float(recovery_frac)
    if fracs[-1] + recovery > 1.0 + 1e-9:
        raise ConfigError(f"a late window must fit before the recovery: impair fraction + recovery "
                          f"<= 1 must hold, but got ({fracs[-1]:g} + {recovery:g})",
                          key="--impair-fracs", value=fracs[-1],
                          fix="shorten the window or the recovery")
    control = impairment_window(impair_bits, base_bits, grad_bits, 0.0, 0.0,
                                name=f"control {base_bits}/{grad_bits}")
    jobs: list[Job] = []
    for seed in check_seeds(seeds):
        jobs.append(Job(f"control {base_bits}/{grad_bits}", CONTROL, control, seed, 0.0))
        for frac in fracs:
            if frac == 0.0:
                continue
            late_end = 1.0 - recovery
            for kind, start, end in ((EARLY, 0.0, frac), (LATE, max(0.0, late_end - frac), late_end)):
                row = f"{kind} {frac:g}"
                window = impairment_window(impair_bits, base_bits, grad_bits, start, end,
                                           name=f"{row} @{impair_bits}b, {base_bits}/{grad_bits}")
                jobs.append(Job(row, kind, window, seed, frac))
    return jobs


def _check_fracs(fracs: Sequence[float]) -> list[float]:
    values = list(fracs)
    if not values:
        raise ConfigError("at least one window fraction is needed", key="--impair-fracs",
                          value=fracs, fix="give e.g. 0,0.1,0.25,0.5")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0.0 <= float(value) < 1.0:
            raise ConfigError("0 <= impair fraction < 1 must hold", key="--impair-fracs",
                              value=value, fix="a window is a part of training, e.g. 0.25; "
                                               "0 is the unimpaired control")
    if len(set(values)) != len(values):
        raise ConfigError("impair fractions must be distinct", key="--impair-fracs",
                          value=values, fix="list each window length once")
    return sorted(float(v) for v in values)


@dataclass(frozen=True)
class Outcome:
    """What one job gave: a trial result summary, or the one-line reason it failed.

    Attributes:
        job: the job.
        result: ``TrialResult.to_dict(with_epochs=False)`` of a finished training, else ``None``.
        error: why the training failed (diverged, data missing, ...), else ``None``.
        run_id: the MLflow run that records it, when tracked.
    """

    job: Job
    result: dict[str, Any] | None = None
    error: str | None = None
    run_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the training finished with a finite metric."""
        if self.result is None:
            return False
        metric = self.result.get("metric")
        return isinstance(metric, (int, float)) and metric == metric and abs(metric) != float("inf")

    def value(self, name: str) -> float | None:
        """A numeric field of the result (``None`` when failed or absent)."""
        if not self.ok or self.result is None:
            return None
        value = self.result.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else None


# --- a row's outcomes (one per seed), summarised for the reports --------------------------------
def metric_values(group: Sequence[Outcome]) -> list[float]:
    """The metrics of the finished outcomes, in seed order."""
    return [v for o in sorted(group, key=lambda o: o.job.seed) if (v := o.value("metric")) is not None]


def test_metric_values(group: Sequence[Outcome]) -> list[float]:
    """The test-split metrics of the finished outcomes, in seed order (reported, never selected on)."""
    return [v for o in sorted(group, key=lambda o: o.job.seed) if (v := o.value("test_metric")) is not None]


def metric_by_seed(group: Sequence[Outcome]) -> dict[int, float]:
    """``{seed: metric}`` of the finished outcomes (what the paired test matches on)."""
    return {o.job.seed: v for o in group if (v := o.value("metric")) is not None}


def mean_value(group: Sequence[Outcome], name: str) -> float | None:
    """Mean of a result field over the outcomes that have it (``None`` when none has)."""
    values = [v for v in (o.value(name) for o in group) if v is not None]
    return float(np.mean(values)) if values else None
