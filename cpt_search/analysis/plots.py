"""Pictures of the analyses (matplotlib, Agg backend): drawn from the plain reports, never computed here.

* :func:`plot_reproduce`: metric vs relative cost with seed error bars; presets labelled, static
  baselines as squares, Pareto-optimal rows circled;
* :func:`plot_critical`: damage vs window length, early and late windows;
* :func:`plot_range_test`: training loss over the staircase, stages shaded, suggestion marked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cpt_search.analysis.critical import CriticalReport
from cpt_search.analysis.jobs import EARLY, LATE, PRESET
from cpt_search.analysis.reproduce import ReproduceReport
from cpt_search.plotting import png_axes


def plot_reproduce(report: ReproduceReport, path: str | Path) -> Path:
    """Metric (mean ± std over seeds) vs relative cost (vs FP32, log scale)."""
    with png_axes(path, figsize_in=(7.5, 5.0)) as ax:
        for row in report.rows:
            if row.metric.mean is None or row.relative_cost is None:
                continue
            preset = row.kind == PRESET
            ax.errorbar(row.relative_cost, row.metric.mean, yerr=row.metric.std or 0.0,
                        fmt="o" if preset else "s", color="tab:blue" if preset else "tab:gray",
                        ecolor="0.6", capsize=3, markersize=6)
            if row.pareto:
                ax.plot(row.relative_cost, row.metric.mean, "o", markersize=14, fillstyle="none",
                        color="tab:red")
            ax.annotate(row.schedule, (row.relative_cost, row.metric.mean), fontsize=8,
                        xytext=(5, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("training cost relative to FP32 (log)")
        better = "higher" if report.higher_is_better else "lower"
        ax.set_ylabel(f"{report.metric_name} ({better} is better), mean ± std")
        rho = report.spearman
        rho_text = "–" if rho.rho is None else f"{rho.rho:+.2f} (p = {rho.p:.2g})"
        ax.set_title(f"{report.task} ({report.budget}): presets (o), baselines (s), Pareto (red); "
                     f"Spearman {rho_text}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    return Path(path)


def plot_critical(report: CriticalReport, path: str | Path) -> Path:
    """Damage (metric lost vs the control, positive = worse) vs window length, early and late."""
    with png_axes(path, figsize_in=(6.5, 4.2)) as ax:
        for kind, color in ((EARLY, "tab:red"), (LATE, "tab:blue")):
            rows = [r for r in report.rows if r.kind == kind and r.damage is not None]
            fracs = [0.0] + [r.window_frac for r in rows]
            damage = [0.0] + [r.damage for r in rows]
            std = [0.0] + [r.metric.std or 0.0 for r in rows]
            ax.errorbar(fracs, damage, yerr=std, marker="o", color=color, capsize=3,
                        label=f"{kind} window @ {report.impair_bits} b")
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.set_xlabel("window length (fraction of training)")
        ax.set_ylabel(f"damage: {report.metric_name} lost vs control")
        ax.set_title(f"{report.task} ({report.budget}): {report.impair_bits}-bit window, "
                     f"{report.base_bits}/{report.grad_bits} elsewhere", fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return Path(path)


def plot_range_test(losses: np.ndarray, bits_list, steps_per_bits: int,
                    suggested: int | None, path: str | Path, *, title: str = "") -> Path:
    """Training loss per step over the staircase; the suggested stage shaded green."""
    with png_axes(path, figsize_in=(7.5, 3.6)) as ax:
        steps = np.arange(len(losses))
        ax.plot(steps, losses, linewidth=0.8, color="tab:blue")
        for i, bits in enumerate(bits_list):
            start = i * steps_per_bits
            shade = "tab:green" if bits == suggested else ("0.92" if i % 2 else "white")
            ax.axvspan(start, start + steps_per_bits, color=shade, alpha=0.3 if bits == suggested
                       else 1.0, zorder=0)
            ax.text(start + steps_per_bits / 2, 1.0, f"{bits}b", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8)
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        ax.set_title(title or f"precision range test: suggested min_bits = {suggested}", fontsize=9,
                     pad=14)
    return Path(path)
