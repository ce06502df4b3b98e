"""The Better Schedules table: ten presets and static baselines over seeds, on one task.

Per schedule row: the metric's mean and standard deviation over seeds, mean bits, relative cost vs
FP32 and vs static 8/8, the difference to static ``max_bits`` with a significance mark (Welch's
t-test p < 0.05; the mean ± std overlap is reported beside it), and whether the row is
Pareto-optimal in (metric, relative cost). Across rows: Spearman's rho between relative cost and
metric (Better Schedules' "accuracy correlates with training cost").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from cpt_search.analysis.jobs import PRESET, Outcome, mean_value, metric_by_seed, metric_values, test_metric_values
from cpt_search.analysis.stats import Correlation, Difference, SeedStats, difference, spearman
from cpt_search.analysis.tables import Table, mean_pm_std


@dataclass(frozen=True)
class ScheduleRow:
    """One schedule's row of the reproduce table.

    Attributes:
        schedule: row name (``"CR"``, ``"static 8/8"``, ``"FP32"``).
        kind: ``preset`` or ``baseline``.
        label: the schedule's full label (``"CR 3-8/8 n=8"``).
        metric: the task metric over seeds.
        metric_values: the per-seed metrics (finished seeds only, in seed order).
        mean_bits, mean_grad_bits, relative_cost, relative_cost_vs_8_8: schedule costs (identical
            across seeds; ``None`` if no seed finished).
        bitops, paper_bitops: training bit operations (per-layer and the papers' figure), mean.
        seconds: mean wall time of a training.
        vs_static: difference of the metric to the static ``max_bits`` row.
        pareto: non-dominated in (metric, relative cost) among the finished rows.
        failed: seeds that did not finish, with their reasons.
        test_metric: the test-split metric over seeds (``None``: the task has no test split);
            reported beside the selection metric, never used for the differences or the front.
    """

    schedule: str
    kind: str
    label: str
    metric: SeedStats
    metric_values: tuple[float, ...]
    mean_bits: float | None
    mean_grad_bits: float | None
    relative_cost: float | None
    relative_cost_vs_8_8: float | None
    bitops: float | None
    paper_bitops: float | None
    seconds: float | None
    vs_static: Difference
    pareto: bool = False
    failed: tuple[str, ...] = field(default_factory=tuple)
    test_metric: SeedStats | None = None


@dataclass(frozen=True)
class ReproduceReport:
    """The reproduce table and the cost-metric correlations.

    Attributes:
        task, budget, metric_name, higher_is_better: what was trained and how it is scored.
        static_row: the row the differences refer to (static ``max_bits``).
        rows: presets in paper order, then baselines.
        spearman: rho between relative cost and mean metric over all finished rows.
        spearman_presets: the same over the ten presets only (the paper's population).
        settings: the bounds, cycles and seeds used.
        test_metric_name: the task's test-split metric (``None``: none), a column apart.
    """

    task: str
    budget: str
    metric_name: str
    higher_is_better: bool
    static_row: str
    rows: tuple[ScheduleRow, ...]
    spearman: Correlation
    spearman_presets: Correlation
    settings: Mapping[str, Any] = field(default_factory=dict)
    test_metric_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document: ``{"rows": [...], "spearman": {"rho", "p"}, ...}``."""
        rows = []
        for row in self.rows:
            rows.append({
                "schedule": row.schedule, "kind": row.kind, "label": row.label,
                "metric_mean": row.metric.mean, "metric_std": row.metric.std, "n": row.metric.n,
                "metric_values": list(row.metric_values),
                "test_metric_mean": None if row.test_metric is None else row.test_metric.mean,
                "test_metric_std": None if row.test_metric is None else row.test_metric.std,
                "relative_cost": row.relative_cost, "relative_cost_vs_8_8": row.relative_cost_vs_8_8,
                "mean_bits": row.mean_bits, "mean_grad_bits": row.mean_grad_bits,
                "bitops": row.bitops, "paper_bitops": row.paper_bitops,
                "delta_vs_static": row.vs_static.delta, "welch_p_vs_static": row.vs_static.welch_p,
                "paired_p_vs_static": row.vs_static.paired_p,
                "intervals_overlap_vs_static": row.vs_static.intervals_overlap,
                "significant_vs_static": bool(row.vs_static.mark),
                "pareto": row.pareto, "seconds_mean": row.seconds, "failed": list(row.failed),
            })
        return {
            "task": self.task, "budget": self.budget, "metric_name": self.metric_name,
            "test_metric_name": self.test_metric_name,
            "higher_is_better": self.higher_is_better, "static_row": self.static_row,
            "settings": dict(self.settings), "rows": rows,
            "spearman": self.spearman.to_dict(), "spearman_presets": self.spearman_presets.to_dict(),
        }

    def table(self) -> Table:
        """The table for Markdown/CSV: one row per schedule."""
        test = (f"{self.test_metric_name} mean ± std",) if self.test_metric_name else ()
        columns = ("schedule", f"{self.metric_name} mean ± std", "n", f"Δ vs {self.static_row}",
                   "p (Welch)", "sig", "p (paired)", *test, "mean bits", "cost vs FP32", "cost vs 8/8",
                   "Pareto")
        rows = tuple(
            (row.schedule, mean_pm_std(row.metric.mean, row.metric.std), row.metric.n,
             row.vs_static.delta if row.schedule != self.static_row else None,
             row.vs_static.welch_p if row.schedule != self.static_row else None,
             row.vs_static.mark if row.schedule != self.static_row else "",
             row.vs_static.paired_p if row.schedule != self.static_row else None,
             *((_stats_text(row.test_metric),) if test else ()),
             row.mean_bits, row.relative_cost, row.relative_cost_vs_8_8, row.pareto)
            for row in self.rows
        )
        return Table(columns, rows, ("", "", "", "+.4f", ".3g", "", ".3g", *("",) * len(test), ".2f", ".4f",
                                     ".3f", ""))

    def csv_table(self) -> Table:
        """A machine-friendly table with separate mean/std columns and per-seed values."""
        columns = ("schedule", "kind", "label", "metric_mean", "metric_std", "n", "metric_values",
                   "test_metric_mean", "test_metric_std",
                   "delta_vs_static", "welch_p", "paired_p", "intervals_overlap", "mean_bits", "relative_cost",
                   "relative_cost_vs_8_8", "bitops", "paper_bitops", "pareto", "seconds_mean")
        rows = tuple(
            (row.schedule, row.kind, row.label, row.metric.mean, row.metric.std, row.metric.n,
             " ".join(repr(v) for v in row.metric_values),
             None if row.test_metric is None else row.test_metric.mean,
             None if row.test_metric is None else row.test_metric.std, row.vs_static.delta,
             row.vs_static.welch_p, row.vs_static.paired_p, row.vs_static.intervals_overlap, row.mean_bits,
             row.relative_cost, row.relative_cost_vs_8_8, row.bitops, row.paper_bitops,
             row.pareto, row.seconds)
            for row in self.rows
        )
        return Table(columns, rows)

    def summary_lines(self) -> list[str]:
        """The correlation lines printed under the table."""
        return [
            f"Spearman rho(relative cost, {self.metric_name}) over {self.spearman.n} schedules: "
            f"{_fmt(self.spearman.rho, '+.3f')} (p = {_fmt(self.spearman.p, '.3g')})",
            f"  presets only ({self.spearman_presets.n}): {_fmt(self.spearman_presets.rho, '+.3f')} "
            f"(p = {_fmt(self.spearman_presets.p, '.3g')})",
        ]


def build_report(outcomes: Sequence[Outcome], *, task: str, budget: str, metric_name: str,
                 higher_is_better: bool, static_row: str,
                 settings: Mapping[str, Any] | None = None,
                 test_metric_name: str | None = None) -> ReproduceReport:
    """Aggregate the outcomes of :func:`cpt_search.analysis.jobs.reproduce_jobs` into the table."""
    order: list[str] = []
    by_row: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.job.row not in by_row:
            order.append(outcome.job.row)
            by_row[outcome.job.row] = []
        by_row[outcome.job.row].append(outcome)
    static_by_seed = metric_by_seed(by_row.get(static_row, []))
    rows = []
    for name in order:
        group = sorted(by_row[name], key=lambda o: o.job.seed)
        values = metric_values(group)
        rows.append(ScheduleRow(
            schedule=name, kind=group[0].job.kind, label=group[0].job.schedule.label,
            metric=SeedStats.of(values), metric_values=tuple(values),
            mean_bits=mean_value(group, "mean_bits"), mean_grad_bits=mean_value(group, "mean_grad_bits"),
            relative_cost=mean_value(group, "relative_cost"),
            relative_cost_vs_8_8=mean_value(group, "relative_cost_vs_8_8"),
            bitops=mean_value(group, "bitops"), paper_bitops=mean_value(group, "paper_bitops"),
            seconds=mean_value(group, "seconds"),
            vs_static=difference(metric_by_seed(group), static_by_seed),
            failed=tuple(f"seed {o.job.seed}: {o.error or 'no result'}" for o in group if not o.ok),
            test_metric=SeedStats.of(test_metric_values(group)) if test_metric_name else None,
        ))
    rows = _mark_pareto(rows, higher_is_better)
    finished = [r for r in rows if r.metric.mean is not None and r.relative_cost is not None]
    presets = [r for r in finished if r.kind == PRESET]
    return ReproduceReport(
        task=task, budget=budget, metric_name=metric_name, higher_is_better=higher_is_better,
        static_row=static_row, rows=tuple(rows),
        spearman=spearman([r.relative_cost for r in finished], [r.metric.mean for r in finished]),
        spearman_presets=spearman([r.relative_cost for r in presets],
                                  [r.metric.mean for r in presets]),
        settings=dict(settings or {}), test_metric_name=test_metric_name,
    )


def _stats_text(stats: SeedStats | None) -> str:
    return "–" if stats is None else mean_pm_std(stats.mean, stats.std)


def _mark_pareto(rows: list[ScheduleRow], higher_is_better: bool) -> list[ScheduleRow]:
    """Flag the rows that no other finished row beats on both metric and relative cost."""
    from dataclasses import replace

    from cpt_search.pareto import pareto_mask

    finished = [i for i, r in enumerate(rows) if r.metric.mean is not None
                and r.relative_cost is not None]
    if not finished:
        return rows
    points = np.array([[rows[i].metric.mean, rows[i].relative_cost] for i in finished])
    directions = ("maximize" if higher_is_better else "minimize", "minimize")
    mask = np.asarray(pareto_mask(points, directions), dtype=bool)
    flagged = {i for i, on in zip(finished, mask) if on}
    return [replace(r, pareto=i in flagged) for i, r in enumerate(rows)]


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)
