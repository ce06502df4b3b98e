"""TrialSpec takes any BitSchedule (piecewise schedules too) and round-trips through its dict."""

from cpt_search import preset
from cpt_search.piecewise import impairment_window
from cpt_search.training import TrialSpec


def test_piecewise_schedule_spec_round_trips():
    window = impairment_window(3, 8, 8, 0.0, 0.25)
    spec = TrialSpec(task="digits/mlp", budget="tiny", schedule=window, seed=2)
    again = TrialSpec.from_dict(spec.to_dict())
    assert again == spec and again.schedule == window


def test_schedule_spec_round_trips():
    spec = TrialSpec(task="digits/mlp", schedule=preset("ETH", num_cycles=2))
    assert TrialSpec.from_dict(spec.to_dict()) == spec
