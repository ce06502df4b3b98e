"""Pictures of a front and a schedule: files written, offline HTML."""

from __future__ import annotations

from pathlib import Path

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
