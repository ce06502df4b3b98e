"""Pictures of a search: the accuracy/BitOPs front (PNG and offline HTML) and one schedule (PNG).

The front is drawn from plain :class:`~cpt_search.select.Candidate` records plus the set of trial
numbers on the front (computed elsewhere and tested without a plotting backend, as optuna's
``visualization/_pareto_front.py`` does). Paper presets and static baselines are marked and labelled
so every front is read against the papers' hand-made suite; labels are placed so that none overlap
(:mod:`cpt_search.tracking.labels`). A seed-confirmed front is drawn at its confirmed values with
each member's 95 % interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Sequence

from cpt_search.plotting import plot_schedule, png_axes
from cpt_search.schedule import Schedule
from cpt_search.select import Candidate
from cpt_search.tracking.labels import place_labels

GIGA = 1e9


def _groups(candidates: Sequence[Candidate], front: Collection[int],
            members: Sequence[Candidate] | None = None):
    """Split into (searched, presets, statics) and the front sorted by BitOPs (``members`` when
    given: a confirmed front's own values)."""
    searched = [c for c in candidates if not c.baseline]
    baselines = [c for c in candidates if c.baseline]
    statics = [c for c in baselines if Schedule.from_dict(c.schedule).is_static]
    presets = [c for c in baselines if c not in statics]
    source = candidates if members is None else members
    on_front = sorted((c for c in source if c.trial in front), key=lambda c: c.bitops)
    return searched, presets, statics, on_front


def interval(candidate: Candidate) -> tuple[float, float] | None:
    """A confirmed candidate's 95 % interval of the metric (``None``: not confirmed, or one seed)."""
    low, high = candidate.extra.get("ci_low"), candidate.extra.get("ci_high")
    if low is None or high is None:
        return None
    return float(low), float(high)


def _short(c: Candidate) -> str:
    """A plot label: a baseline's schedule name, a searched front member's trial number."""
    return c.label.split(" +")[0] if c.baseline else f"#{c.trial}"


def draw_front(ax: Any, candidates: Sequence[Candidate], front: Collection[int], *, metric_name: str,
               higher_is_better: bool, title: str = "", members: Sequence[Candidate] | None = None) -> list[Any]:
    """Draw the front picture on ``ax``; returns the label texts (placed so that none overlap).

    All trained trials (metric vs training GBitOPs; gray, the search's own seed), the front as a
    staircase (red rings; a confirmed front at its confirmed values with its 95 % intervals), presets
    (triangles) and static baselines (squares) labelled by name, searched front members by trial.
    """
    searched, presets, statics, on_front = _groups(candidates, front, members)
    if searched:
        ax.scatter([c.bitops / GIGA for c in searched], [c.metric for c in searched], s=22,
                   color="tab:gray", alpha=0.6, label="searched")
    if presets:
        ax.scatter([c.bitops / GIGA for c in presets], [c.metric for c in presets], s=44,
                   marker="^", color="tab:blue", label="paper presets")
    if statics:
        ax.scatter([c.bitops / GIGA for c in statics], [c.metric for c in statics], s=44,
                   marker="s", color="tab:green", label="static baselines")
    if on_front:
        xs, ys = [c.bitops / GIGA for c in on_front], [c.metric for c in on_front]
        ax.step(xs, ys, where="post" if higher_is_better else "pre", color="tab:red", linewidth=1.0)
        ax.scatter(xs, ys, s=70, facecolors="none", edgecolors="tab:red", linewidths=1.5,
                   label="Pareto front" if members is None else "seed-confirmed front")
        with_ci = [(c.bitops / GIGA, ci) for c in on_front if (ci := interval(c)) is not None]
        if with_ci:
            ax.vlines([x for x, _ in with_ci], [ci[0] for _, ci in with_ci], [ci[1] for _, ci in with_ci],
                      color="tab:red", linewidth=1.0, alpha=0.7, label="95 % interval (seeds)")
    ax.set_xscale("log")  # FP32 costs 10-30x a low-bit schedule: a linear axis hides the front
    ax.set_xlabel("training GBitOPs (per-layer accounting, log scale)")
    better = "higher is better" if higher_is_better else "lower is better"
    ax.set_ylabel(f"{metric_name} ({better})")
    ax.set_title(title or "Pareto front", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    front_trials = {c.trial for c in on_front}
    labelled = presets + statics + [c for c in on_front if not c.baseline]
    points = {c.trial: c for c in labelled}
    if members is not None:  # a confirmed baseline is labelled at its confirmed value
        points.update({c.trial: c for c in on_front})
    return _place(ax, [points[c.trial] for c in labelled], [c for c in candidates if c.trial not in front_trials]
                  + on_front)


def _place(ax: Any, labelled: Sequence[Candidate], markers: Sequence[Candidate]) -> list[Any]:
    """Annotate ``labelled`` without overlaps (:func:`~cpt_search.tracking.labels.place_labels`)."""
    if not labelled:
        return []
    fig = ax.figure
    fig.tight_layout()  # the axes' final place first: placement is in display pixels
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    sizes = []
    for c in labelled:
        probe = ax.text(0, 0, _short(c), fontsize=7)
        extent = probe.get_window_extent(renderer)
        sizes.append((extent.width, extent.height))
        probe.remove()
    to_px = ax.transData.transform
    anchors = [tuple(to_px((c.bitops / GIGA, c.metric))) for c in labelled]
    half = 4.5  # marker half-size in pixels (s=44 is about 6.6 pt across at 100 dpi)
    obstacles = [(x - half, y - half, x + half, y + half)
                 for x, y in (to_px((c.bitops / GIGA, c.metric)) for c in markers)]
    box = ax.get_window_extent(renderer)
    legend = ax.get_legend()
    if legend is not None:
        extent = legend.get_window_extent(renderer)
        obstacles.append((extent.x0, extent.y0, extent.x1, extent.y1))
    placements = place_labels(anchors, sizes, (box.x0, box.y0, box.x1, box.y1), obstacles)
    texts = []
    for c, placement in zip(labelled, placements):
        arrow = dict(arrowstyle="-", color="0.5", linewidth=0.6, shrinkA=0, shrinkB=2) if placement.leader else None
        texts.append(ax.annotate(_short(c), (c.bitops / GIGA, c.metric), xytext=(placement.dx_px, placement.dy_px),
                                 textcoords="offset pixels", fontsize=7, ha="left", va="bottom",
                                 arrowprops=arrow, annotation_clip=False))
    return texts


def plot_front_png(candidates: Sequence[Candidate], front: Collection[int], path: str | Path, *,
                   metric_name: str, higher_is_better: bool, title: str = "",
                   members: Sequence[Candidate] | None = None) -> Path:
    """:func:`draw_front` to a PNG file (Agg backend, no display)."""
    with png_axes(path, figsize_in=(7.5, 5.0)) as ax:
        draw_front(ax, candidates, front, metric_name=metric_name, higher_is_better=higher_is_better,
                   title=title, members=members)
    return Path(path)


def plot_front_html(candidates: Sequence[Candidate], front: Collection[int], path: str | Path, *,
                    metric_name: str, higher_is_better: bool, title: str = "",
                    members: Sequence[Candidate] | None = None) -> Path:
    """The same picture as an interactive plotly page that works offline.

    plotly.js is embedded (``include_plotlyjs=True``, about 4.8 MB): a CDN link would not load on
    an air-gapped machine. Hovering a point shows its trial number, schedule and cost; a confirmed
    front shows each member's 95 % interval as an error bar and its seeds and P(front) on hover.
    """
    import plotly.graph_objects as go

    searched, presets, statics, on_front = _groups(candidates, front, members)
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
        intervals = [interval(c) for c in on_front]
        error_y = None
        if any(ci is not None for ci in intervals):
            pairs = list(zip(on_front, intervals))
            error_y = dict(type="data", symmetric=False, color="red", thickness=1.2, width=4,
                           array=[0.0 if ci is None else max(ci[1] - c.metric, 0.0) for c, ci in pairs],
                           arrayminus=[0.0 if ci is None else max(c.metric - ci[0], 0.0) for c, ci in pairs])
        fig.add_trace(go.Scatter(
            x=[c.bitops / GIGA for c in on_front], y=[c.metric for c in on_front],
            mode="lines+markers", name="Pareto front" if members is None else "seed-confirmed front (95 % interval)",
            line=dict(color="red", width=1, shape="hv" if higher_is_better else "vh"),
            marker=dict(size=13, color="rgba(0,0,0,0)", line=dict(color="red", width=2)),
            error_y=error_y,
            text=[_front_hover(c, ci) for c, ci in zip(on_front, intervals)],
            hovertemplate="%{text}<extra>front</extra>",
        ))
    better = "higher is better" if higher_is_better else "lower is better"
    fig.update_layout(title=title or "Pareto front", xaxis_type="log",
                      xaxis_title="training GBitOPs (per-layer accounting, log scale)",
                      yaxis_title=f"{metric_name} ({better})", template="plotly_white")
    path = Path(path)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def _front_hover(c: Candidate, ci: tuple[float, float] | None) -> str:
    text = f"trial {c.trial}: {c.label}<br>relative cost {c.relative_cost:.4f}"
    if ci is not None:
        p_front = c.extra.get("p_front")
        text += (f"<br>{c.extra.get('n_seeds')} seeds, mean {c.extra.get('mean', c.metric):.4f}, "
                 f"95 % interval {ci[0]:.4f} to {ci[1]:.4f}")
        if p_front is not None:
            text += f", P(front) {p_front:.2f}"
    return text


def plot_schedule_png(schedule: Schedule, total_steps: int, path: str | Path) -> Path:
    """A small picture of the schedule's bits over training (the lead's renderer, smaller)."""
    return plot_schedule(schedule, total_steps, path, figsize_in=(5.0, 2.0))
