"""The ten Better Schedules presets: mean bits and cost tiers of docs/method.md §1."""

import pytest

from cpt_search import PRESET_NAMES, preset, static
from cpt_search.costs import summarize_schedule
from cpt_search.presets import baseline_schedules, full_precision, preset_name

# name: (mean bits, cost vs static 8/8), 3-8 bits, n = 8, g = 8, 64,000 steps (docs/method.md §1).
REFERENCE_TABLE = {
    "CR": (5.50, 0.633), "CT": (5.50, 0.633), "LR": (5.50, 0.628), "LT": (5.50, 0.628),
    "ER": (6.83, 0.822), "ETH": (6.83, 0.822), "ETV": (5.50, 0.635),
    "RR": (3.81, 0.399), "RTV": (5.50, 0.637), "RTH": (3.81, 0.399),
}


def test_there_are_exactly_the_ten_presets():
    assert PRESET_NAMES == tuple(REFERENCE_TABLE)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_mean_bits_and_cost_tier(name):
    summary = summarize_schedule(preset(name), 64_000)
    mean_bits, cost = REFERENCE_TABLE[name]
    assert round(summary.mean_bits, 2) == mean_bits
    assert round(summary.relative_cost_vs_8_8, 3) == cost
    assert summary.mean_grad_bits == 8


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_name_recognises_its_own_shape(name):
    assert preset_name(preset(name, min_bits=2, max_bits=6)) == name
    assert preset(name).label.startswith(f"{name} 3-8/8")


def test_cosine_and_linear_triangles_ignore_the_flip():
    assert preset_name(preset("CT").replace(flip="horizontal")) == "CT"
    assert preset_name(preset("ETV").replace(flip="horizontal")) == "ETH"


def test_unknown_preset_suggests():
    with pytest.raises(Exception, match=r"preset='RTX'.*did you mean"):
        preset("RTX")


def test_baselines_without_duplicates():
    assert baseline_schedules(8, 8) == [static(8, 8), full_precision()]
    assert baseline_schedules(6, 6) == [static(6, 6), static(8, 8), full_precision()]
    assert baseline_schedules(6, 8, include_fp32=False) == [static(6, 8), static(8, 8)]
