"""The report files of an analysis: Markdown, CSV, JSON and PNG, composed from its report record.

Pure but for matplotlib (the plot): the tables come from :mod:`cpt_search.analysis.reproduce` and
:mod:`cpt_search.analysis.critical`, the pictures from :mod:`cpt_search.analysis.plots`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from cpt_search.analysis.jobs import Outcome


def reproduce_markdown(report: Any, *, task: str, budget: str, min_bits: int, max_bits: int,
                       grad_bits: int, num_cycles: int, seeds: int) -> str:
    """The ``reproduce`` report as Markdown: settings, the table and the correlations."""
    return (f"# {task} ({budget}): Better Schedules presets vs static baselines\n\n"
            f"Bounds {min_bits}-{max_bits}/{grad_bits}, n = {num_cycles}, {seeds} seed(s); "
            f"Δ and p vs {report.static_row} (* = Welch p < 0.05; p (paired): paired t-test over "
            f"seeds, same initial weights and data order).{_selection_note(report)}\n\n"
            + report.table().markdown() + "\n" + "\n".join(report.summary_lines()) + "\n")


def critical_markdown(report: Any, *, task: str, budget: str, metric_name: str, impair_bits: int,
                      base_bits: int, grad_bits: int, recovery_frac: float, seeds: int) -> str:
    """The ``critical-period`` report as Markdown: settings, the damage table and the pairs."""
    late = (f"late windows end at {1 - recovery_frac:g} of training" if recovery_frac
            else "late windows end the run")
    return (f"# {task} ({budget}): {impair_bits}-bit windows, {base_bits}/{grad_bits} elsewhere; "
            f"{late}\n\n"
            f"{seeds} seed(s); damage = {metric_name} lost vs the control (positive = worse)."
            f"{_selection_note(report)}\n\n"
            + report.table().markdown() + "\n" + report.pairs_table().markdown())


def _selection_note(report: Any) -> str:
    """Which column is which: the papers report test accuracy; this project compares on validation."""
    test = getattr(report, "test_metric_name", None)
    if not test:
        return ""
    return (f" Differences, significance and the Pareto flags use {report.metric_name} (the validation split);"
            f" {test} (the test split, what the papers report) is shown beside it and used for nothing else.")


def write_reports(out: Path, stem: str, markdown: str, csv_text: str, report: Any,
                  plot: Callable[[Any, Path], Any], *, mlflow: Mapping[str, Any] | None,
                  outcomes: Sequence[Outcome]) -> tuple[list[Path], dict[str, Any]]:
    """Write ``STEM.md/.csv/.json/.png`` into ``out``; the JSON names the MLflow runs behind it."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{stem}.{suffix}" for suffix in ("md", "csv", "json", "png")]
    files[0].write_text(markdown, encoding="utf-8")
    files[1].write_text(csv_text, encoding="utf-8")
    document = report.to_json()
    if mlflow is not None:
        document["mlflow"] = {**mlflow, "runs": {o.job.key: o.run_id for o in outcomes}}
    files[2].write_text(json.dumps(document, indent=2), encoding="utf-8")
    plot(report, files[3])
    return files, document
