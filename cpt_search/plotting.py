"""Text and image renderings of a schedule: a sparkline for terminals and a PNG via matplotlib."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from cpt_search.schedule import Schedule

SPARK_CHARS = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int = 64, *, low: float | None = None,
              high: float | None = None) -> str:
    """A one-line Unicode sparkline of ``values`` resampled to ``width`` columns (column means)."""
    values = np.asarray(values, dtype=np.float64)
    width = max(1, min(width, values.size))
    columns = np.array([chunk.mean() for chunk in np.array_split(values, width)])
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high <= low:
        return SPARK_CHARS[len(SPARK_CHARS) // 2] * width
    levels = np.rint((columns - low) / (high - low) * (len(SPARK_CHARS) - 1)).astype(int)
    return "".join(SPARK_CHARS[i] for i in np.clip(levels, 0, len(SPARK_CHARS) - 1))


@contextlib.contextmanager
def png_axes(path: str | Path, *, figsize_in: tuple[float, float], dpi: int = 100) -> Iterator[Any]:
    """One matplotlib axes on the Agg backend (no display needed); on exit the figure is laid out,
    saved to ``path`` and closed, also when drawing failed (no figures leak in long searches)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize_in, dpi=dpi)
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(Path(path))
    finally:
        plt.close(fig)


def plot_schedule(schedule: Schedule, total_steps: int, path: str | Path, *,
                  title: str | None = None, figsize_in: tuple[float, float] = (7.0, 2.6)) -> Path:
    """Draw forward and gradient bits over training to a PNG file (Agg backend, no display)."""
    bits, grad_bits = schedule.tracks(total_steps)
    with png_axes(path, figsize_in=figsize_in) as ax:
        ax.step(*_change_points(bits), where="post", label="forward bits", linewidth=1.2)
        if not np.array_equal(bits, grad_bits):
            ax.step(*_change_points(grad_bits), where="post", label="gradient bits", linewidth=1.0,
                    alpha=0.7)
        ax.set_xlabel("training step")
        ax.set_ylabel("bits")
        ax.set_title(title or schedule.label, fontsize=10)
        ax.set_xlim(0, total_steps)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    return Path(path)


def _change_points(track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The steps where ``track`` changes (plus both ends): the same step plot as every step, drawn
    from a few hundred points instead of millions (10**7 steps took 2.7 GB and 31 s to draw)."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(track)) + 1, [track.size - 1]))
    return starts, track[starts]
