"""Synthetic searches with a known true front, to measure what confirmation buys (pure: numpy only).

A :class:`SyntheticProblem` is a set of schedules with exact costs and true metrics (some on a concave
accuracy-vs-cost front, the rest a little below it) and a seed-noise model shaped like the one measured
on Cora GCN: a component common to every schedule trained on a seed (same initial weights and data
order) plus an individual one of about 0.6 points at high bit widths, rising to about 3 points for the
cheapest, lowest-bit schedules. :func:`compare` replays many such searches and scores three ways of
reporting a front against the truth:

* ``one_seed``: the search's own front, on seed 0;
* ``refit``: the naive fix, retraining the seed-0 front members on the confirm seeds (as the budget
  allows) and keeping those still non-dominated by mean;
* ``confirmed``: the race of :mod:`cpt_search.confirm.racing` under the same budget.

It is the acceptance test of the race and a way to size ``max_trainings`` before spending it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cpt_search.confirm.racing import OFF, ON, race
from cpt_search.confirm.settings import ConfirmSettings, RaceCandidate
from cpt_search.pareto import hypervolume_2d, knee_index, pareto_mask

SEARCH_SEED = 0
ARMS = ("one_seed", "refit", "confirmed")


@dataclass(frozen=True)
class SyntheticProblem:
    """Schedules with exact costs, true metrics (higher is better) and a seed-noise model.

    Attributes:
        costs: ``(n,)`` exact costs (fraction of FP32 training).
        true_metric: ``(n,)`` the metric each schedule reaches on average over seeds.
        noise_std: ``(n,)`` std of each schedule's individual seed noise.
        common_std: std of the per-seed component shared by every schedule.
        true_front: indices of the truly non-dominated schedules.
    """

    costs: np.ndarray
    true_metric: np.ndarray
    noise_std: np.ndarray
    common_std: float
    true_front: frozenset[int]

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One seed's metric for every schedule: truth + the seed's common noise + individual noise."""
        return self.true_metric + rng.normal(0.0, self.common_std) + rng.normal(0.0, self.noise_std)


def synthetic_problem(rng: np.random.Generator, n_schedules: int = 30, n_front: int = 8,
                      common_std: float = 0.005, noise_factor: float = 1.0) -> SyntheticProblem:
    """A random problem: ``n_front`` schedules on ``0.80 - 0.10 exp(-cost / 0.15)``, the rest 0.2-3
    points below it; individual noise ``noise_factor * (0.006 + 0.025 exp(-cost / 0.1))`` (0.6 points
    at high cost, about 3 at the cheapest, for a factor of 1)."""
    costs = np.sort(rng.uniform(0.02, 1.0, n_schedules))
    curve = 0.80 - 0.10 * np.exp(-costs / 0.15)
    on_curve = rng.choice(n_schedules, size=n_front, replace=False)
    gaps = rng.uniform(0.002, 0.03, n_schedules)
    gaps[on_curve] = 0.0
    true_metric = curve - gaps
    noise_std = noise_factor * (0.006 + 0.025 * np.exp(-costs / 0.1))
    truth = pareto_mask(np.column_stack([true_metric, costs]), ("maximize", "minimize"))
    return SyntheticProblem(costs, true_metric, noise_std, common_std, frozenset(np.flatnonzero(truth).tolist()))


@dataclass(frozen=True)
class ArmOutcome:
    """A reported front of one replayed search.

    Attributes:
        members: indices of the schedules reported on the front.
        reported: the metric reported for each member (its mean over the seeds it was trained on).
        trainings: trainings spent beyond the search's own.
        declared_on, declared_off: the race's verdicts (empty for the arms that are not a race).
    """

    members: frozenset[int]
    reported: Mapping[int, float]
    trainings: int
    declared_on: frozenset[int] = frozenset()
    declared_off: frozenset[int] = frozenset()


def one_seed_front(problem: SyntheticProblem, seed0: np.ndarray) -> ArmOutcome:
    """The search's front: non-dominated on the seed-0 values."""
    mask = pareto_mask(np.column_stack([seed0, problem.costs]), ("maximize", "minimize"))
    members = np.flatnonzero(mask)
    return ArmOutcome(frozenset(members.tolist()), {int(i): float(seed0[i]) for i in members}, 0)


def refit_front(problem: SyntheticProblem, draws: Mapping[int, np.ndarray], settings: ConfirmSettings) -> ArmOutcome:
    """Retrain the seed-0 front on the confirm seeds in order (round-robin, budget capped); keep the
    members still non-dominated by their means."""
    first = one_seed_front(problem, draws[SEARCH_SEED])
    members = sorted(first.members, key=lambda i: problem.costs[i])
    values: dict[int, dict[int, float]] = {i: {SEARCH_SEED: float(draws[SEARCH_SEED][i])} for i in members}
    spent = 0
    for seed in settings.seeds:
        for i in members:
            if spent < settings.max_trainings:
                values[i][seed] = float(draws[seed][i])
                spent += 1
    means = np.array([np.mean(list(values[i].values())) for i in members])
    keep = pareto_mask(np.column_stack([means, problem.costs[members]]), ("maximize", "minimize"))
    kept = [members[k] for k in np.flatnonzero(keep)]
    return ArmOutcome(frozenset(kept), {i: float(np.mean(list(values[i].values()))) for i in kept}, spent)


def confirmed_front_of(problem: SyntheticProblem, draws: Mapping[int, np.ndarray],
                       settings: ConfirmSettings) -> ArmOutcome:
    """Run the race to its end on the pre-drawn seed values; the confirmed front and adjusted means."""
    values: dict[int, dict[int, float]] = {i: {SEARCH_SEED: float(draws[SEARCH_SEED][i])}
                                           for i in range(len(problem.costs))}

    def candidates() -> list[RaceCandidate]:
        return [RaceCandidate(str(i), float(problem.costs[i]), values[i]) for i in range(len(problem.costs))]

    state = race(candidates(), settings, higher_is_better=True)
    while not state.finished:
        for candidate_id, seed in state.next_round():
            values[int(candidate_id)][seed] = float(draws[seed][int(candidate_id)])
        state = race(candidates(), settings, higher_is_better=True)
    from cpt_search.confirm.front import confirmed_front

    front = confirmed_front(state)
    members = frozenset(int(i) for i in front.ids)
    reported = {int(r.id): r.stats.adjusted_mean for r in state.records if int(r.id) in members}
    return ArmOutcome(members, reported, state.trainings_spent,
                      declared_on=frozenset(int(i) for i in state.by_status(ON)),
                      declared_off=frozenset(int(i) for i in state.by_status(OFF)))


@dataclass(frozen=True)
class ArmScore:
    """How well one way of reporting a front recovers the truth, averaged over the replays.

    Attributes:
        exact_rate: fraction of replays whose reported front is exactly the true front.
        jaccard: mean ``|reported & true| / |reported | true|``.
        optimism_points: mean over replays of the mean (reported - true metric) of the members, in
            metric points (x100).
        true_hv_frac: mean hypervolume of the members' *true* values over that of the true front.
        trainings: mean trainings spent beyond the search.
        knee_error_points: mean ``|reported - true|`` of the reported front's knee
            (:func:`cpt_search.pareto.knee_index` on the reported values), in points: how far the point
            ``cpt-search export`` writes by default is from what retraining it would give on average.
        knee_miss_frac: fraction of replays whose knee is off by more than one point.
        wrong_off_frac: of all truly non-dominated schedules, the fraction the race declared ``off``
            (NaN for the arms that are not a race): what repeated tests without a correction cost.
        wrong_on_frac: of all schedules the race declared ``on``, the fraction truly dominated (NaN
            likewise).
    """

    exact_rate: float
    jaccard: float
    optimism_points: float
    true_hv_frac: float
    trainings: float
    knee_error_points: float
    knee_miss_frac: float
    wrong_off_frac: float = float("nan")
    wrong_on_frac: float = float("nan")


def compare(repetitions: int, settings: ConfirmSettings, seed: int = 0, n_schedules: int = 30,
            n_front: int = 8, common_std: float = 0.005, noise_factor: float = 1.0) -> dict[str, ArmScore]:
    """Replay ``repetitions`` synthetic searches; score each arm of :data:`ARMS` against the truth."""
    rng = np.random.default_rng(seed)
    scores: dict[str, list[tuple[float, ...]]] = {arm: [] for arm in ARMS}
    # Pooled counts of the race's verdicts: (true members declared off, true members,
    # dominated declared on, declared on).
    verdicts = np.zeros(4)
    for _ in range(repetitions):
        problem = synthetic_problem(rng, n_schedules, n_front, common_std, noise_factor)
        draws = {s: problem.draw(rng) for s in (SEARCH_SEED, *settings.seeds)}
        outcomes = {"one_seed": one_seed_front(problem, draws[SEARCH_SEED]),
                    "refit": refit_front(problem, draws, settings),
                    "confirmed": confirmed_front_of(problem, draws, settings)}
        reference = (0.0, 1.0 + 1e-9)
        true_points = np.column_stack([problem.true_metric, problem.costs])
        true_hv = hypervolume_2d(true_points[sorted(problem.true_front)], reference)
        for arm, outcome in outcomes.items():
            members = sorted(outcome.members)
            union = outcome.members | problem.true_front
            knee = members[knee_index(np.array([[outcome.reported[i], problem.costs[i]] for i in members]))]
            knee_error = 100.0 * abs(outcome.reported[knee] - problem.true_metric[knee])
            scores[arm].append((
                float(outcome.members == problem.true_front),
                len(outcome.members & problem.true_front) / len(union),
                100.0 * float(np.mean([outcome.reported[i] - problem.true_metric[i] for i in members])),
                hypervolume_2d(true_points[members], reference) / true_hv,
                float(outcome.trainings), knee_error, float(knee_error > 1.0)))
        race_outcome = outcomes["confirmed"]
        verdicts += (len(race_outcome.declared_off & problem.true_front), len(problem.true_front),
                     len(race_outcome.declared_on - problem.true_front), len(race_outcome.declared_on))
    result = {arm: ArmScore(*np.mean(np.array(rows), axis=0).tolist()) for arm, rows in scores.items()}
    race_score = result["confirmed"]
    result["confirmed"] = ArmScore(
        race_score.exact_rate, race_score.jaccard, race_score.optimism_points, race_score.true_hv_frac,
        race_score.trainings, race_score.knee_error_points, race_score.knee_miss_frac,
        wrong_off_frac=float(verdicts[0] / verdicts[1]),
        wrong_on_frac=float(verdicts[2] / verdicts[3]) if verdicts[3] else float("nan"))
    return result
