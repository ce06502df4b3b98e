"""Pictures of a search: the accuracy/BitOPs front (PNG and offline HTML) and one schedule (PNG).

The front is drawn from plain :class:`~cpt_search.select.Candidate` records plus the set of trial
numbers on the front (computed elsewhere and tested without a plotting backend, as optuna's
``visualization/_pareto_front.py`` does). Paper presets and static baselines are marked and labelled
so every front is read against the papers' hand-made suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Collection, Sequence

from cpt_search.plotting import plot_schedule, png_axes
from cpt_search.schedule import Schedule
from cpt_search.select import Candidate

GIGA = 1e9


def _groups(candidates: Sequence[Candidate], front: Collection[int]):
    """Split into (searched, presets, statics) and the front sorted by BitOPs."""
    searched = [c for c in candidates if not c.baseline]
    baselines = [c for c in candidates if c.baseline]
    statics = [c for c in baselines if Schedule.from_dict(c.schedule).is_static]
    presets = [c for c in baselines if c not in statics]
    on_front = sorted((c for c in candidates if c.trial in front), key=lambda c: c.bitops)
    return searched, presets, statics, on_front


def plot_front_png(candidates: Sequence[Candidate], front: Collection[int], path: str | Path, *,
                   metric_name: str, higher_is_better: bool, title: str = "") -> Path:
    """All trained trials (metric vs training GBitOPs), the front as a staircase, presets (triangles)
    and static baselines (squares) labelled; Agg backend, no display."""
    searched, presets, statics, on_front = _groups(candidates, front)
    with png_axes(path, figsize_in=(7.5, 5.0)) as ax:
        if searched:
            ax.scatter([c.bitops / GIGA for c in searched], [c.metric for c in searched], s=22,
                       color="tab:gray", alpha=0.6, label="searched")
        if presets:
            ax.scatter([c.bitops / GIGA for c in presets], [c.metric for c in presets], s=44,
                       marker="^", color="tab:blue", label="paper presets")
        if statics:
            ax.scatter([c.bitops / GIGA for c in statics], [c.metric for c in statics], s=44,
                       marker="s", color="tab:green", label="static baselines")
        for c in presets + statics:
            ax.annotate(c.label.split(" +")[0], (c.bitops / GIGA, c.metric), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        if on_front:
            ax.step([c.bitops / GIGA for c in on_front], [c.metric for c in on_front],
                    where="post" if higher_is_better else "pre", color="tab:red", linewidth=1.0)
            ax.scatter([c.bitops / GIGA for c in on_front], [c.metric for c in on_front], s=70,
                       facecolors="none", edgecolors="tab:red", linewidths=1.5, label="Pareto front")
        ax.set_xscale("log")  # FP32 costs 10-30x a low-bit schedule: a linear axis hides the front
        ax.set_xlabel("training GBitOPs (per-layer accounting, log scale)")
        better = "higher is better" if higher_is_better else "lower is better"
        ax.set_ylabel(f"{metric_name} ({better})")
        ax.set_title(title or "Pareto front", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return Path(path)


def plot_front_html(candidates: Sequence[Candidate], front: Collection[int], path: str | Path, *,
                    metric_name: str, higher_is_better: bool, title: str = "") -> Path:
    """The same picture as an interactive plotly page that works offline.

    plotly.js is embedded (``include_plotlyjs=True``, about 4.8 MB): a CDN link would not load on
    an air-gapped machine. Hovering a point shows its trial number, schedule and cost.
    """
    import plotly.graph_objects as go

    searched, presets, statics, on_front = _groups(candidates, front)
    fig = go.Figure()

    def add(group: Sequence[Candidate], name: str, **marker) -> None:
        if not group:
            return
        fig.add_trace(go.Scatter(
            x=[c.bitops / GIGA for c in group], y=[c.metric for c in group], mode="markers",
            name=name, marker=marker,
            text=[f"trial {c.trial}: {c.label}<br>relative cost {c.relative_cost:.4f}" for c in group],
            hovertemplate="%{text}<br>GBitOPs %{x:.4g}<br>" + metric_name + " %{y:.4f}<extra></extra>",
        ))

    add(searched, "searched", color="gray", size=7, opacity=0.6)
    add(presets, "paper presets", color="royalblue", size=10, symbol="triangle-up")
    add(statics, "static baselines", color="green", size=10, symbol="square")
    if on_front:
        fig.add_trace(go.Scatter(
            x=[c.bitops / GIGA for c in on_front], y=[c.metric for c in on_front],
            mode="lines+markers", name="Pareto front",
            line=dict(color="red", width=1, shape="hv" if higher_is_better else "vh"),
            marker=dict(size=13, color="rgba(0,0,0,0)", line=dict(color="red", width=2)),
            text=[f"trial {c.trial}: {c.label}" for c in on_front],
            hovertemplate="%{text}<extra>front</extra>",
        ))
    better = "higher is better" if higher_is_better else "lower is better"
    fig.update_layout(title=title or "Pareto front", xaxis_type="log",
                      xaxis_title="training GBitOPs (per-layer accounting, log scale)",
                      yaxis_title=f"{metric_name} ({better})", template="plotly_white")
    path = Path(path)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def plot_schedule_png(schedule: Schedule, total_steps: int, path: str | Path) -> Path:
    """A small picture of the schedule's bits over training (the lead's renderer, smaller)."""
    return plot_schedule(schedule, total_steps, path, figsize_in=(5.0, 2.0))
