"""Critical learning periods: the damage of a low-precision window early vs late in training.

The study (after Achille et al. 2019, as Better Schedules argue about aggressive early quantization):
train at ``impair_bits`` over a window of a fraction ``f`` of training and at ``base_bits``
elsewhere, with the window at the start (``[0, f)``) or, as the control, at the end
(``[1 - f, 1)``, or ``[1 - r - f, 1 - r)`` with a recovery of ``r`` at ``base_bits`` after it);
evaluate at ``base_bits``. Damage is the metric lost against the unimpaired
control, signed so that a positive damage is always worse (for a lower-is-better metric such as bits
per character it is ``metric - control``). The claim: early windows cost more than equally long
late ones, because later high precision does not recover what the early window broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from cpt_search.analysis.jobs import (
    CONTROL,
    EARLY,
    LATE,
    Outcome,
    mean_value,
    metric_by_seed,
    metric_values,
    test_metric_values,
)
from cpt_search.analysis.stats import Difference, SeedStats, difference
from cpt_search.analysis.tables import Table, mean_pm_std


@dataclass(frozen=True)
class WindowRow:
    """One window (or the control) over seeds.

    Attributes:
        row: ``"control 8/8"``, ``"early 0.25"``, ``"late 0.25"``.
        kind: ``control``, ``early`` or ``late``.
        window_frac: the window's length as a fraction of training (0 for the control).
        window_steps: the steps actually trained at the impaired precision (from the run length).
        total_steps: the run length in steps.
        metric: final metric over seeds.
        damage: mean metric lost against the control (positive = worse); 0 for the control.
        vs_control: metric difference to the control, with Welch's and the paired (by seed) test.
        mean_bits, relative_cost: the schedule's cost.
        failed: seeds that did not finish.
    """

    row: str
    kind: str
    window_frac: float
    window_steps: int | None
    total_steps: int | None
    metric: SeedStats
    damage: float | None
    vs_control: Difference
    mean_bits: float | None
    relative_cost: float | None
    failed: tuple[str, ...] = field(default_factory=tuple)
    test_metric: SeedStats | None = None  # the test split, reported apart (``None``: none)


@dataclass(frozen=True)
class WindowPair:
    """An early and a late window of the same length, compared.

    Attributes:
        window_frac: their length.
        early_damage, late_damage: mean damage of each.
        early_vs_late: ``early - late`` metric difference (negative = early worse when higher is
            better), with Welch's and the paired (by seed) test.
        early_worse: whether the early window did more damage.
    """

    window_frac: float
    early_damage: float | None
    late_damage: float | None
    early_vs_late: Difference

    @property
    def early_worse(self) -> bool | None:
        """Whether the early window did more damage (``None`` when either is unknown)."""
        if self.early_damage is None or self.late_damage is None:
            return None
        return self.early_damage > self.late_damage


@dataclass(frozen=True)
class CriticalReport:
    """The critical-period table, the early/late comparison and the settings."""

    task: str
    budget: str
    metric_name: str
    higher_is_better: bool
    impair_bits: int
    base_bits: int
    grad_bits: int
    rows: tuple[WindowRow, ...]
    pairs: tuple[WindowPair, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    test_metric_name: str | None = None

    def table(self) -> Table:
        """One row per window: metric, damage, significance vs control, steps at low precision."""
        test = (f"{self.test_metric_name} mean ± std",) if self.test_metric_name else ()
        columns = ("window", "fraction", f"steps at {self.impair_bits} b",
                   f"{self.metric_name} mean ± std", "n", "damage", "p vs control", "sig",
                   "p (paired)", *test, "mean bits", "cost vs FP32")
        rows = tuple(
            (r.row, r.window_frac,
             None if r.window_steps is None else f"{r.window_steps}/{r.total_steps}",
             mean_pm_std(r.metric.mean, r.metric.std), r.metric.n,
             r.damage, r.vs_control.welch_p if r.kind != CONTROL else None,
             r.vs_control.mark if r.kind != CONTROL else "",
             r.vs_control.paired_p if r.kind != CONTROL else None,
             *((mean_pm_std(r.test_metric.mean, r.test_metric.std) if r.test_metric else "–",) if test else ()),
             r.mean_bits, r.relative_cost)
            for r in self.rows
        )
        return Table(columns, rows, ("", "g", "", "", "", "+.4f", ".3g", "", ".3g", *("",) * len(test),
                                     ".2f", ".4f"))

    def pairs_table(self) -> Table:
        """Early vs late damage at each window length."""
        columns = ("fraction", "early damage", "late damage", "early − late metric", "p (Welch)",
                   "sig", "p (paired)", "early worse")
        rows = tuple(
            (p.window_frac, p.early_damage, p.late_damage, p.early_vs_late.delta,
             p.early_vs_late.welch_p, p.early_vs_late.mark, p.early_vs_late.paired_p,
             None if p.early_worse is None else ("yes" if p.early_worse else "no"))
            for p in self.pairs
        )
        return Table(columns, rows, ("g", "+.4f", "+.4f", "+.4f", ".3g", "", ".3g", ""))

    def to_json(self) -> dict[str, Any]:
        """Plain, JSON-safe document of the rows and pairs."""
        return {
            "task": self.task, "budget": self.budget, "metric_name": self.metric_name,
            "test_metric_name": self.test_metric_name,
            "higher_is_better": self.higher_is_better, "impair_bits": self.impair_bits,
            "bits": self.base_bits, "grad_bits": self.grad_bits, "settings": dict(self.settings),
            "rows": [{
                "window": r.row, "kind": r.kind, "window_frac": r.window_frac,
                "window_steps": r.window_steps, "total_steps": r.total_steps,
                "metric_mean": r.metric.mean, "metric_std": r.metric.std, "n": r.metric.n,
                "test_metric_mean": None if r.test_metric is None else r.test_metric.mean,
                "test_metric_std": None if r.test_metric is None else r.test_metric.std,
                "damage": r.damage, "welch_p_vs_control": r.vs_control.welch_p,
                "paired_p_vs_control": r.vs_control.paired_p,
                "mean_bits": r.mean_bits, "relative_cost": r.relative_cost, "failed": list(r.failed),
            } for r in self.rows],
            "pairs": [{
                "window_frac": p.window_frac, "early_damage": p.early_damage,
                "late_damage": p.late_damage, "early_minus_late": p.early_vs_late.delta,
                "welch_p": p.early_vs_late.welch_p, "paired_p": p.early_vs_late.paired_p,
                "early_worse": p.early_worse,
            } for p in self.pairs],
        }


def build_report(outcomes: Sequence[Outcome], *, task: str, budget: str, metric_name: str,
                 higher_is_better: bool, impair_bits: int, base_bits: int, grad_bits: int,
                 settings: Mapping[str, Any] | None = None,
                 test_metric_name: str | None = None) -> CriticalReport:
    """Aggregate the outcomes of :func:`cpt_search.analysis.jobs.critical_period_jobs`."""
    by_row: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_row.setdefault(outcome.job.row, []).append(outcome)
    control_group = next((g for g in by_row.values() if g[0].job.kind == CONTROL), [])
    control_by_seed = metric_by_seed(control_group)
    control_mean = SeedStats.of(metric_values(control_group)).mean
    sign = 1.0 if higher_is_better else -1.0

    rows = []
    for name, group in by_row.items():
        group = sorted(group, key=lambda o: o.job.seed)
        job = group[0].job
        values = metric_values(group)
        stats = SeedStats.of(values)
        total_steps = next((int(t) for o in group if (t := o.value("total_steps")) is not None), None)
        window_steps = None
        if total_steps is not None:
            bits, _ = job.schedule.tracks(total_steps)
            window_steps = int(np.count_nonzero(bits == impair_bits))
        damage = None
        if stats.mean is not None and control_mean is not None:
            damage = sign * (control_mean - stats.mean)
        rows.append(WindowRow(
            row=name, kind=job.kind, window_frac=float(job.window_frac or 0.0),
            window_steps=window_steps, total_steps=total_steps, metric=stats, damage=damage,
            vs_control=difference(metric_by_seed(group), control_by_seed),
            mean_bits=mean_value(group, "mean_bits"), relative_cost=mean_value(group, "relative_cost"),
            failed=tuple(f"seed {o.job.seed}: {o.error or 'no result'}" for o in group if not o.ok),
            test_metric=SeedStats.of(test_metric_values(group)) if test_metric_name else None,
        ))
    kind_order = {CONTROL: 0, EARLY: 1, LATE: 2}
    rows.sort(key=lambda r: (kind_order.get(r.kind, 3), r.window_frac))

    pairs = []
    for frac in sorted({r.window_frac for r in rows if r.kind == EARLY}):
        early = next(r for r in rows if r.kind == EARLY and r.window_frac == frac)
        late = next((r for r in rows if r.kind == LATE and r.window_frac == frac), None)
        if late is None:
            continue
        pairs.append(WindowPair(
            window_frac=frac, early_damage=early.damage, late_damage=late.damage,
            early_vs_late=difference(metric_by_seed(by_row[early.row]), metric_by_seed(by_row[late.row])),
        ))
    return CriticalReport(task=task, budget=budget, metric_name=metric_name,
                          higher_is_better=higher_is_better, impair_bits=impair_bits,
                          base_bits=base_bits, grad_bits=grad_bits, rows=tuple(rows),
                          pairs=tuple(pairs), settings=dict(settings or {}),
                          test_metric_name=test_metric_name)
