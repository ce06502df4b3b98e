"""Plain tables and their Markdown and CSV renderings (no pandas needed for a dozen rows)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Table:
    """Column names and rows of raw values (numbers stay numbers until rendered).

    Attributes:
        columns: header names.
        rows: one tuple of values per row, aligned with ``columns``.
        formats: per column, a ``format()`` spec for floats in Markdown (``".4f"``); CSV keeps
            full precision.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            assert len(row) == len(self.columns), (row, self.columns)

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table; ``None`` and NaN render as an en dash."""
        formats = self.formats or ("",) * len(self.columns)
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        for row in self.rows:
            cells = [_cell(value, spec) for value, spec in zip(row, formats)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """CSV text with a header; ``None`` is an empty cell, floats are written with ``repr``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v)
                             for v in row])
        return buffer.getvalue()

    def write(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``STEM.md`` and ``STEM.csv``; returns both paths."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        md, csv_path = stem.with_suffix(".md"), stem.with_suffix(".csv")
        md.write_text(self.markdown(), encoding="utf-8")
        csv_path.write_text(self.csv(), encoding="utf-8")
        return md, csv_path


def _cell(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and spec:
        return format(value, spec)
    return str(value).replace("|", "\\|")


def mean_pm_std(mean: float | None, std: float | None, spec: str = ".4f") -> str:
    """``"0.8120 ± 0.0040"`` (just the mean when the std is undefined)."""
    if mean is None:
        return "–"
    return format(mean, spec) if std is None else f"{format(mean, spec)} ± {format(std, spec)}"

