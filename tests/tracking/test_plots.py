"""Pictures of a front and a schedule: files written, offline HTML."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpt_search.presets import preset, static
from cpt_search.schedule import Schedule
from cpt_search.select import Candidate
from cpt_search.tracking.plots import plot_front_html, plot_front_png, plot_schedule_png


def candidates() -> list[Candidate]:
    cr = preset("CR").to_dict()
    return [
        Candidate(0, "CR 3-8/8 n=8", 0.90, 4e9, 0.04, cr, baseline=True),
        Candidate(1, "static 8/8", 0.91, 6e9, 0.0625, static(8, 8).to_dict(), baseline=True),
        Candidate(2, "cosine-repeated 4-6/8 n=3", 0.89, 3e9, 0.03,
                  Schedule(min_bits=4, max_bits=6, num_cycles=3).to_dict()),
        Candidate(3, "linear-repeated 2-4/8 n=2", 0.70, 3.5e9, 0.02,
                  Schedule(profile="linear", min_bits=2, max_bits=4, num_cycles=2).to_dict()),
    ]


def test_front_png(tmp_path: Path) -> None:
    path = plot_front_png(candidates(), {0, 1, 2}, tmp_path / "front.png", metric_name="test_accuracy",
                          higher_is_better=True, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 5_000 < path.stat().st_size < 500_000


def test_front_html_is_self_contained(tmp_path: Path) -> None:
    path = plot_front_html(candidates(), {0, 1, 2}, tmp_path / "front.html", metric_name="val_bpc",
                           higher_is_better=False)
    text = path.read_text(encoding="utf-8")
    # Works offline: no script is loaded from anywhere (plotly.js mentions a topojson CDN for geo
    # maps, which a scatter plot never fetches).
    assert "<script src=" not in text and 'src="http' not in text
    assert "Plotly.newPlot" in text and "trial 2: cosine-repeated 4-6\\u002f8 n=3" in text  # JSON-escaped
    assert path.stat().st_size < 6_000_000  # the embedded plotly.js is about 4.7 MB


def test_schedule_png(tmp_path: Path) -> None:
    path = plot_schedule_png(preset("RTH"), 800, tmp_path / "s.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def crowded() -> list[Candidate]:
    """The ten presets at three mean bit-widths and four static baselines, as a real search has them:
    names that a fixed label offset prints on top of each other."""
    from cpt_search.presets import PRESET_NAMES

    out = []
    cost = {"CR": 4.0, "CT": 4.0, "LR": 4.0, "LT": 4.0, "ETV": 4.0, "RTV": 4.0, "ER": 5.2, "ETH": 5.2,
            "RR": 2.9, "RTH": 2.9}
    for k, name in enumerate(PRESET_NAMES):
        out.append(Candidate(k, f"{name} 3-8/8 n=8", 0.80 + 0.0003 * k, cost[name] * 1e9, cost[name] / 100,
                             preset(name).to_dict(), baseline=True))
    for k, bits in enumerate((4, 5, 6, 8)):
        out.append(Candidate(20 + k, f"static {bits}/8", 0.79 + 0.004 * k, (1.5 + bits / 2) * 1e9, 0.01 * bits,
                             static(bits, 8).to_dict(), baseline=True))
    for k in range(6):
        out.append(Candidate(40 + k, f"cosine-repeated {3 + k % 2}-6/8 n=3", 0.805 + 0.002 * k,
                             (2.0 + 0.1 * k) * 1e9, 0.02, Schedule(min_bits=3, max_bits=6, num_cycles=3).to_dict()))
    return out


def test_front_labels_do_not_overlap_each_other_or_leave_the_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cpt_search.tracking.labels import overlap_area
    from cpt_search.tracking.plots import draw_front

    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=100)
    try:
        cands = crowded()
        front = {40, 41, 42, 43, 44, 45, 23}
        texts = draw_front(ax, cands, front, metric_name="val_accuracy", higher_is_better=True)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in texts]
        axes_box = ax.get_window_extent(renderer)
        assert len(texts) == 10 + 4 + 6  # every preset, static and searched front member is named
        assert {t.get_text() for t in texts} >= {"CR 3-8/8 n=8", "RTH 3-8/8 n=8", "static 8/8", "#40"}
        for i, a in enumerate(boxes):
            assert axes_box.x0 - 1 <= a.x0 and a.x1 <= axes_box.x1 + 1 and axes_box.y0 - 1 <= a.y0 <= a.y1 <= axes_box.y1 + 1
            for b in boxes[i + 1:]:
                assert overlap_area((a.x0, a.y0, a.x1, a.y1), (b.x0, b.y0, b.x1, b.y1)) == 0, (texts[i].get_text())
    finally:
        plt.close(fig)


def test_the_naive_fixed_offset_would_overlap() -> None:
    """The crowded case is a real test: the same labels at one fixed offset (the old drawing) collide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cpt_search.tracking.labels import overlap_area

    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=100)
    try:
        cands = [c for c in crowded() if c.baseline]
        ax.scatter([c.bitops / 1e9 for c in cands], [c.metric for c in cands])
        ax.set_xscale("log")
        texts = [ax.annotate(c.label, (c.bitops / 1e9, c.metric), fontsize=7, xytext=(4, 3),
                             textcoords="offset points") for c in cands]
        fig.tight_layout()
        fig.canvas.draw()
        boxes = [t.get_window_extent(fig.canvas.get_renderer()) for t in texts]
        hits = sum(overlap_area((a.x0, a.y0, a.x1, a.y1), (b.x0, b.y0, b.x1, b.y1)) > 0
                   for i, a in enumerate(boxes) for b in boxes[i + 1:])
        assert hits >= 3, hits
    finally:
        plt.close(fig)


def test_place_labels_keeps_every_box_free_when_there_is_room() -> None:
    from cpt_search.tracking.labels import overlap_area, place_labels

    anchors = [(100.0, 100.0)] * 8 + [(103.0, 101.0)] * 4  # twelve labels on two nearly equal points
    sizes = [(30.0, 10.0)] * 12
    placed = place_labels(anchors, sizes, (0.0, 0.0, 400.0, 300.0))
    assert all(p.free for p in placed)
    for i, a in enumerate(placed):
        assert 0 <= a.box[0] and a.box[2] <= 400 and 0 <= a.box[1] and a.box[3] <= 300
        for b in placed[i + 1:]:
            assert overlap_area(a.box, b.box) == 0
    assert any(p.leader for p in placed)  # the far ones get a line back to their point


def test_confirmed_front_html_shows_the_intervals(tmp_path: Path) -> None:
    import json
    import re

    cands = candidates()
    members = [Candidate(2, cands[2].label, 0.88, 3e9, 0.03, cands[2].schedule,
                         extra={"n_seeds": 4, "mean": 0.88, "ci_low": 0.86, "ci_high": 0.895, "p_front": 0.9}),
               Candidate(0, cands[0].label, 0.895, 4e9, 0.04, cands[0].schedule, baseline=True,
                         extra={"n_seeds": 1, "mean": 0.895, "ci_low": None, "ci_high": None})]
    path = plot_front_html(cands, {0, 2}, tmp_path / "front.html", metric_name="val_accuracy",
                           higher_is_better=True, members=members)
    text = path.read_text(encoding="utf-8")
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", text, re.S).group(1))
    front = next(t for t in figure if t["name"].startswith("seed-confirmed front"))
    assert front["y"] == [0.88, 0.895]  # the confirmed values, cheapest first
    error = front["error_y"]
    assert error["array"] == pytest.approx([0.015, 0.0]) and error["arrayminus"] == pytest.approx([0.02, 0.0])
    assert "95 % interval 0.8600 to 0.8950" in front["text"][0] and "P(front) 0.90" in front["text"][0]
    png = plot_front_png(cands, {0, 2}, tmp_path / "front.png", metric_name="val_accuracy",
                         higher_is_better=True, members=members)
    assert png.read_bytes()[:4] == b"\x89PNG"
