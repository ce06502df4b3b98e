"""The confirmation race: pairing of seeds, the budget, elimination and confirmation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpt_search.confirm import OFF, ON, UNDECIDED, ConfirmSettings, RaceCandidate, race
from cpt_search.errors import ConfigError


def run_race(truth, costs, confirm, oracle, higher_is_better=True, search_seed=0, log=None):
    """Race to the end; ``oracle(index, seed)`` gives a training's value. Returns the final state."""
    values = {i: {search_seed: oracle(i, search_seed)} for i in range(len(truth))}

    def candidates():
        return [RaceCandidate(f"c{i}", costs[i], values[i]) for i in range(len(truth))]

    state = race(candidates(), confirm, higher_is_better)
    while not state.finished:
        pairs = state.next_round()
        if log is not None:
            log.append((pairs, state))
        for candidate_id, seed in pairs:
            index = int(candidate_id[1:])
            assert seed not in values[index], "a pair that already has a value was asked for"
            values[index][seed] = oracle(index, seed)
        state = race(candidates(), confirm, higher_is_better)
    return state


def noisy_oracle(truth, noise_std, common_std=0.0, seed=0):
    rng = np.random.default_rng(seed)
    cache: dict[tuple[int, int], float] = {}
    common: dict[int, float] = {}

    def oracle(i, s):
        if s not in common:
            common[s] = float(rng.normal(0.0, common_std))
        if (i, s) not in cache:
            cache[(i, s)] = float(truth[i] + common[s] + rng.normal(0.0, noise_std))
        return cache[(i, s)]
    return oracle


def test_seeds_are_handed_out_in_order_one_per_candidate_per_round_and_never_twice():
    truth = [0.70, 0.75, 0.78, 0.80, 0.795, 0.76]
    costs = [0.1, 0.2, 0.4, 0.8, 0.7, 0.3]
    log: list = []
    confirm = ConfirmSettings(seeds=(11, 12, 13, 14), max_trainings=100, noise_std=0.01)
    run_race(truth, costs, confirm, noisy_oracle(truth, 0.01, 0.005), log=log)
    given_out: list[tuple[str, int]] = []
    for pairs, state in log:
        receivers = [candidate_id for candidate_id, _ in pairs]
        assert len(receivers) == len(set(receivers)), "one new seed per candidate per round"
        for candidate_id, seed in pairs:
            assert state.record(candidate_id).status != OFF
            # Each candidate gets the confirm seeds in the same order (so pairs stay paired).
            rank = confirm.seeds.index(seed)
            assert all((candidate_id, s) in given_out for s in confirm.seeds[:rank])
        given_out.extend(pairs)
    assert len(given_out) == len(set(given_out))
    assert log[0][0][0][1] == 11


def test_the_incumbents_gain_a_seed_while_the_challengers_catch_up():
    # c0 and c1 are the front of the means, on two seeds; c2 and c3 are plausible challengers on one.
    costs = [0.1, 0.5, 0.6, 0.7]
    values = [{0: 0.70, 1: 0.71}, {0: 0.80, 1: 0.79}, {0: 0.795}, {0: 0.79}]
    cands = [RaceCandidate(f"c{i}", costs[i], values[i]) for i in range(4)]
    state = race(cands, ConfirmSettings(seeds=(1, 2, 3), max_trainings=20, noise_std=0.01), True)
    assert state.next_round() == (("c0", 2), ("c1", 2), ("c2", 1), ("c3", 1))
    # Cut short by the budget, the incumbents are served first.
    state = race(cands, ConfirmSettings(seeds=(1, 2, 3), max_trainings=5, noise_std=0.01), True)
    assert state.next_round() == (("c0", 2), ("c1", 2), ("c2", 1))


@given(st.integers(0, 2 ** 32 - 1), st.integers(0, 40))
@settings(max_examples=25, deadline=None)
def test_the_budget_is_respected_exactly(seed, budget):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    costs = rng.uniform(0.05, 1.0, n).tolist()
    truth = (0.8 - 0.1 * np.exp(-np.asarray(costs) / 0.2) - rng.uniform(0, 0.02, n)).tolist()
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4, 5), max_trainings=budget, bootstrap_samples=10)
    state = run_race(truth, costs, confirm, noisy_oracle(truth, 0.01, 0.005, seed))
    assert state.trainings_spent <= budget
    # The race stops with budget left only when no undecided racer lacks a confirm seed.
    lacking = [r.id for r in state.records if r.status == UNDECIDED and r.racing
               and r.stats.n_seeds < 1 + len(confirm.seeds)]
    assert state.trainings_spent == budget or not lacking
    if state.trainings_spent == budget and lacking:
        assert all(state.record(i).why.endswith("budget spent") for i in lacking)


def test_a_round_cut_short_by_the_budget_serves_the_front_first():
    costs = [0.1, 0.5, 0.9, 0.95]
    values = [{0: 0.70}, {0: 0.79}, {0: 0.80}, {0: 0.78, 1: 0.78, 2: 0.79}]
    cands = [RaceCandidate(f"c{i}", costs[i], values[i]) for i in range(4)]
    state = race(cands, ConfirmSettings(seeds=(1, 2, 3), max_trainings=4, noise_std=0.01), True)
    assert state.trainings_spent == 2  # c3's two confirm seeds count against the budget
    assert state.next_round() == (("c0", 1), ("c1", 1))


def test_a_clearly_worse_dearer_schedule_is_off_after_min_seeds_not_before():
    truth = [0.80, 0.74]   # c1 costs more and is 6 points worse
    costs = [0.3, 0.6]
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=20, noise_std=0.03, min_seeds=3)
    oracle = noisy_oracle(truth, 0.005, 0.01, seed=4)
    values = {i: {0: oracle(i, 0)} for i in range(2)}
    seen_off_at = None
    for _ in range(6):
        state = race([RaceCandidate(f"c{i}", costs[i], values[i]) for i in range(2)], confirm, True)
        if state.record("c1").status == OFF:
            seen_off_at = state.record("c1").stats.n_seeds
            break
        for candidate_id, seed in state.next_round():
            values[int(candidate_id[1:])][seed] = oracle(int(candidate_id[1:]), seed)
    assert seen_off_at == 3
    assert "c0" in state.record("c1").why and "p=" in state.record("c1").why
    assert state.record("c0").status == ON  # the cheapest is never dominated


def test_the_cheapest_is_on_at_once_and_a_dearer_better_one_is_confirmed_on():
    truth = [0.70, 0.80]
    costs = [0.2, 0.5]
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=20, noise_std=0.01)
    state = run_race(truth, costs, confirm, noisy_oracle(truth, 0.005, 0.01, seed=5))
    assert [state.record(c).status for c in ("c0", "c1")] == [ON, ON]
    assert state.finished and state.trainings_spent == 2 * 2  # decided after min_seeds = 3 seeds each
    assert state.front().ids == ("c0", "c1")


@given(st.integers(0, 2 ** 32 - 1))
@settings(max_examples=30, deadline=None)
def test_two_statistically_equal_schedules_are_not_both_eliminated(seed):
    truth = [0.78, 0.78]
    costs = [0.5, 0.5]
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4, 5, 6), max_trainings=12, noise_std=0.01, bootstrap_samples=10)
    state = run_race(truth, costs, confirm, noisy_oracle(truth, 0.01, 0.01, seed))
    statuses = [r.status for r in state.records]
    assert statuses.count(OFF) <= 1
    assert len(state.front().ids) >= 1


def test_minimised_metric_mirrors_the_maximised_one():
    truth = [0.70, 0.76, 0.75, 0.80, 0.78]
    costs = [0.1, 0.3, 0.35, 0.9, 0.6]
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=30, noise_std=0.01, bootstrap_samples=50)
    oracle = noisy_oracle(truth, 0.01, 0.005, seed=6)
    up = run_race(truth, costs, confirm, oracle, higher_is_better=True)
    down = run_race([-t for t in truth], costs, confirm, lambda i, s: -oracle(i, s), higher_is_better=False)
    assert [r.status for r in up.records] == [r.status for r in down.records]
    assert up.front().ids == down.front().ids
    assert [r.stats.p_front for r in up.rows()] == [r.stats.p_front for r in down.rows()]


def test_an_implausible_schedule_does_not_race_and_the_noise_is_learned_from_the_front_first():
    costs = [0.1, 0.5, 0.9]   # c2: 20 points below the front at its cost
    values = [{0: 0.70}, {0: 0.80}, {0: 0.60}]
    cands = [RaceCandidate(f"c{i}", costs[i], values[i]) for i in range(3)]
    state = race(cands, ConfirmSettings(seeds=(1, 2, 3), max_trainings=10), True)
    # The noise is unknown (one seed each, no noise_std): only the front of the means races.
    assert state.record("c2").status == UNDECIDED and not state.record("c2").racing
    assert "waiting" in state.record("c2").why
    assert state.next_round() == (("c0", 1), ("c1", 1))
    cands = [RaceCandidate("c0", 0.1, {0: 0.70, 1: 0.71}), RaceCandidate("c1", 0.5, {0: 0.80, 1: 0.795}),
             cands[2]]
    state = race(cands, ConfirmSettings(seeds=(1, 2, 3), max_trainings=10), True)
    assert state.record("c2").status == OFF and "not plausible" in state.record("c2").why
    assert all(candidate_id != "c2" for candidate_id, _ in state.next_round())


def test_the_race_is_a_pure_function_of_the_values():
    cands = [RaceCandidate("a", 0.2, {0: 0.7, 1: 0.71, 2: 0.69}), RaceCandidate("b", 0.4, {0: 0.75, 1: 0.76}),
             RaceCandidate("c", 0.8, {0: 0.74})]
    confirm = ConfirmSettings(seeds=(1, 2, 3), max_trainings=9)
    first, again = race(cands, confirm, True), race(list(reversed(cands))[::-1], confirm, True)
    assert first.records == again.records and first.next_round() == again.next_round()
    assert first.trainings_spent == 3 and first.trainings_left == 6


def test_confirm_settings_errors_name_the_key_and_the_fix():
    with pytest.raises(ConfigError, match=r"seeds=\[1, 1\]: confirm seeds must be unique"):
        ConfirmSettings(seeds=(1, 1), max_trainings=4)
    with pytest.raises(ConfigError, match="max_trainings=-1"):
        ConfirmSettings(seeds=(1,), max_trainings=-1)
    with pytest.raises(ConfigError, match="alpha=1.5"):
        ConfirmSettings(seeds=(1,), max_trainings=1, alpha=1.5)
    with pytest.raises(ConfigError, match="min_seeds=1"):
        ConfirmSettings(seeds=(1,), max_trainings=1, min_seeds=1)
    with pytest.raises(ConfigError, match="seeds=\\[\\]"):
        ConfirmSettings(seeds=(), max_trainings=1)
    with pytest.raises(ConfigError) as info:
        ConfirmSettings(seeds=(1,), max_trainings=1, noise_std=0.0)
    assert "\n" not in str(info.value) and "noise_std=0.0" in str(info.value)


def test_candidate_and_race_errors():
    with pytest.raises(ConfigError, match=r"candidate 'a': values\[1\]=nan: per-seed values must be finite"):
        RaceCandidate("a", 0.5, {0: 0.8, 1: float("nan")})
    with pytest.raises(ConfigError, match="at least one per-seed value"):
        RaceCandidate("a", 0.5, {})
    with pytest.raises(ConfigError, match="cost=-1"):
        RaceCandidate("a", -1, {0: 0.5})
    confirm = ConfirmSettings(seeds=(1,), max_trainings=1)
    with pytest.raises(ConfigError, match="id='a': candidate ids must be unique"):
        race([RaceCandidate("a", 0.1, {0: 0.5}), RaceCandidate("a", 0.2, {0: 0.6})], confirm, True)
    with pytest.raises(ConfigError, match="at least one candidate"):
        race([], confirm, True)
    state = race([RaceCandidate("a", 0.1, {0: 0.5})], confirm, True)
    with pytest.raises(ConfigError, match="id='zz': no such candidate"):
        state.record("zz")


def test_a_member_on_at_once_is_still_measured_on_min_seeds():
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=10, min_seeds=3)
    values = {0: 0.71}
    state = race([RaceCandidate("only", 0.2, values)], confirm, True)
    assert state.record("only").status == ON
    rounds = []
    while not state.finished:
        rounds.append(state.next_round())
        for _, seed in state.next_round():
            values[seed] = 0.70
        state = race([RaceCandidate("only", 0.2, values)], confirm, True)
    assert rounds == [(("only", 1),), (("only", 2),)] and state.record("only").stats.n_seeds == 3


@given(st.integers(0, 2 ** 32 - 1), st.integers(0, 30), st.booleans())
@settings(max_examples=25, deadline=None)
def test_invariants_hold_in_every_round_of_random_races(seed, budget, higher_is_better):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    costs = np.round(rng.uniform(0.05, 1.0, n), 1).tolist()  # rounded: ties in cost happen
    truth = (0.8 - 0.1 * np.exp(-np.asarray(costs) / 0.2) - rng.uniform(0, 0.02, n)).tolist()
    sign = 1.0 if higher_is_better else -1.0
    oracle = noisy_oracle([sign * t for t in truth], 0.01, 0.005, seed)
    log: list = []
    confirm = ConfirmSettings(seeds=(3, 1, 2, 5), max_trainings=budget, bootstrap_samples=10)
    final = run_race(truth, costs, confirm, oracle, higher_is_better, log=log)
    cheapest = min(range(n), key=lambda i: costs[i])
    for pairs, state in [*log, ((), final)]:
        assert len(pairs) <= state.trainings_left
        assert len({c for c, _ in pairs}) == len(pairs)  # one new seed per candidate per round
        for candidate_id, s in pairs:
            assert state.record(candidate_id).status != OFF
        if costs.count(costs[cheapest]) == 1:
            assert state.record(f"c{cheapest}").status == ON  # nothing can dominate the cheapest
        front = state.front()
        assert front.ids, "the confirmed front is never empty"
        assert all(state.record(i).status != OFF for i in front.ids)
        for record in state.records:
            assert record.why and "\n" not in record.why
            if record.status == OFF and "not plausible" not in record.why:
                assert "p=" in record.why
    assert final.finished and final.trainings_spent <= budget
