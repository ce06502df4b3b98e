"""The staircase rule without Ray: known learning curves, exact costs, the front kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cpt_search.pareto import pareto_mask
from cpt_search.stopping import Staircase, StaircaseOptions, StaircaseRule, StoppingRule, TrialHistory


def curve(final: float, gain: float, frac: float) -> float:
    """A known learning curve: ``final - gain`` at the rung (0.25 of training), linear after it."""
    return final - gain * (1 - frac) / 0.75


def run_in_order(rule: StaircaseRule, trials: list[tuple[float, float, float]], *, protected=()) -> set[int]:
    """Start, pass the rung and finish each ``(cost, final, gain)`` trial in turn; the stopped ones."""
    stopped = set()
    for number, (cost, final, gain) in enumerate(trials):
        rule.started(number, cost, protected=number in protected)
        if rule.at_rung(number, 1, curve(final, gain, 0.25)).stop:
            stopped.add(number)
        else:
            rule.finished(number, final)
    return stopped


def true_front(trials) -> set[int]:
    values = np.array([(final, cost) for cost, final, _ in trials])
    return set(np.flatnonzero(pareto_mask(values, ("maximize", "minimize"))).tolist())


def test_staircase_is_the_best_value_at_no_more_cost() -> None:
    stairs = Staircase([(0.2, 0.7, 1), (0.1, 0.5, 0), (0.3, 0.6, 2), (0.2, 0.9, 3)])
    assert stairs.best_at(0.05) is None
    assert stairs.best_at(0.1) == (0.5, 0)
    assert stairs.best_at(0.2) == (0.9, 3)  # equal cost counts as "no more"
    assert stairs.best_at(0.25) == (0.9, 3)
    assert stairs.best_at(1.0) == (0.9, 3)


def test_stops_the_hopeless_and_keeps_the_front() -> None:
    # Cheap-to-dear schedules improving with cost, then two dear ones that end badly.
    trials = [(0.02, 0.60, 0.20), (0.03, 0.70, 0.20), (0.04, 0.80, 0.20), (0.05, 0.85, 0.10),
              (0.06, 0.40, 0.20), (0.07, 0.30, 0.15), (0.08, 0.90, 0.15)]
    rule = StaircaseRule(StaircaseOptions(rungs=[0.25], noise_margin=0.02, min_finished=3))
    stopped = run_in_order(rule, trials)
    assert stopped == {4, 5}
    assert not stopped & true_front(trials)
    assert rule.history(4).stopped and rule.history(4).final_metric is None
    assert rule.history(3).final_metric == pytest.approx(0.85)


def test_nothing_is_stopped_before_enough_trials_finished() -> None:
    rule = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3))
    trials = [(0.02, 0.8, 0.1), (0.03, 0.81, 0.1), (0.09, 0.1, 0.1)]
    assert run_in_order(rule, trials) == set()
    rule.started(3, 0.1)
    decision = rule.at_rung(3, 1, 0.0)
    assert decision.stop  # three finished now: the dear, bad trial 3 is stopped
    assert decision.rung == 1 and decision.rung_frac == 0.25
    assert decision.describe().startswith("stopped at rung 1 (25% of training): metric 0")
    assert "trial 1" in decision.reason


def test_a_cheap_trial_is_never_stopped_by_a_dearer_better_one() -> None:
    trials = [(0.05, 0.9, 0.1), (0.06, 0.91, 0.1), (0.07, 0.92, 0.1), (0.01, 0.2, 0.1)]
    assert run_in_order(StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3)), trials) == set()


def test_baselines_are_protected_unless_asked() -> None:
    trials = [(0.02, 0.8, 0.1), (0.03, 0.81, 0.1), (0.04, 0.82, 0.1), (0.09, 0.1, 0.1)]
    kept = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3))
    assert run_in_order(kept, trials, protected={3}) == set()
    dropped = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3, stop_baselines=True))
    assert run_in_order(dropped, trials, protected={3}) == {3}


def test_the_noise_margin_keeps_a_close_trial() -> None:
    trials = [(0.02, 0.8, 0.1), (0.03, 0.81, 0.1), (0.04, 0.82, 0.1), (0.09, 0.805, 0.1)]
    assert run_in_order(StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3,
                                                       noise_margin=0.02)), trials) == set()
    assert run_in_order(StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3,
                                                       noise_margin=0.0)), trials) == {3}


def test_lower_is_better_metrics() -> None:
    # bits per character: lower is better; trial 3 is dear and bad.
    trials = [(0.02, 2.0, 0.3), (0.03, 1.9, 0.3), (0.04, 1.8, 0.3), (0.09, 3.0, 0.3)]
    rule = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3), higher_is_better=False)
    stopped = set()
    for number, (cost, final, gain) in enumerate(trials):
        rule.started(number, cost)
        if rule.at_rung(number, 1, final + gain).stop:  # bpc falls by `gain` after the rung
            stopped.add(number)
        else:
            rule.finished(number, final)
    assert stopped == {3}
    assert rule.history(0).final_metric == pytest.approx(2.0)


def test_restored_state_decides_as_the_original() -> None:
    trials = [(0.02, 0.60, 0.20), (0.03, 0.70, 0.20), (0.04, 0.80, 0.20), (0.05, 0.85, 0.10)]
    first = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3))
    run_in_order(first, trials)
    resumed = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=3))
    resumed.restore([first.history(n) for n in range(len(trials))])
    for rule in (first, resumed):
        rule.started(9, 0.06)
    assert first.at_rung(9, 1, 0.2) == resumed.at_rung(9, 1, 0.2)
    assert resumed.at_rung(9, 1, 0.2).stop
    # A stopped trial from an earlier session is no reference.
    only_stopped = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=1))
    only_stopped.restore([TrialHistory(0, 0.01, {0.25: 0.5}, final_metric=0.6),
                          TrialHistory(1, 0.02, {0.25: 0.9}, stopped=True)])
    only_stopped.started(2, 0.03)
    assert not only_stopped.at_rung(2, 1, 0.5).stop  # 0.5 + 0.1 + 0.02 >= 0.6; trial 1 would stop it
    assert only_stopped.at_rung(2, 1, 0.4).stop


def test_a_failed_trial_is_forgotten() -> None:
    rule = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=1))
    rule.started(0, 0.01)
    rule.at_rung(0, 1, 0.9)
    rule.failed(0)
    assert rule.history(0) is None


def test_fifo_has_no_rungs() -> None:
    assert StoppingRule().rung_fracs == ()


@pytest.mark.parametrize("options, message", [
    ({"rungs": [0.5, 0.25]}, "rungs must increase"),
    ({"rungs": [1.0]}, "0 < rung < 1"),
    ({"rungs": []}, "at least 1"),
    ({"noise_margin": -0.1}, "greater than or equal to 0"),
    ({"min_finished": 0}, "greater than or equal to 1"),
    ({"rung": [0.5]}, "Extra inputs"),
])
def test_options_are_strict(options, message) -> None:
    with pytest.raises(ValidationError, match=message):
        StaircaseOptions.model_validate(options)


# A trial never stops a member of the true front, whatever the order of events, as long as every
# trial's gain after the rung lies within the gains seen on finished trials (here: the two protected
# first trials carry the smallest and the largest gain) and the noise margin is zero.
trial_strategy = st.tuples(st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@settings(max_examples=200, deadline=None)
@given(st.lists(trial_strategy, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_never_stops_a_member_of_the_true_front(trials, random) -> None:
    gains = [gain for _, _, gain in trials]
    low, high = min(gains), max(gains)
    trials = [(2.0, 0.0, low), (2.0, 0.0, high)] + trials  # dear, bad, finished first
    rule = StaircaseRule(StaircaseOptions(rungs=[0.25], min_finished=2, noise_margin=0.0))
    events = [("rung", n) for n in range(2, len(trials))] + [("final", n) for n in range(2, len(trials))]
    random.shuffle(events)
    for number in (0, 1):
        cost, final, gain = trials[number]
        rule.started(number, cost, protected=True)
        rule.at_rung(number, 1, final - gain)
        rule.finished(number, final)
    stopped: set[int] = set()
    passed: set[int] = set()
    pending = list(events)
    while pending:
        kind, number = pending.pop(0)
        cost, final, gain = trials[number]
        if kind == "final" and number not in passed:
            pending.append((kind, number))  # its rung comes first
            continue
        if kind == "rung":
            rule.started(number, cost)
            passed.add(number)
            if rule.at_rung(number, 1, final - gain).stop:
                stopped.add(number)
        elif number not in stopped:
            rule.finished(number, final)
    assert not stopped & true_front(trials)
