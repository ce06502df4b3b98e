"""Acceptance: on synthetic searches with a known true front, the confirmed front recovers it better.

200 replayed searches of 30 schedules (about 12 truly non-dominated, many 0.2-3 points below the
front), seed noise shaped like Cora GCN's (a common per-seed component of 0.5 points plus individual
noise of 0.6 points at high cost rising to 3 points for the cheapest schedules). Each replay scores the
search's one-seed front, the naive refit of that front on the confirm seeds, and the race, all under
the same budget of two extra trainings per schedule. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

from cpt_search.confirm import ConfirmSettings
from cpt_search.confirm.simulate import compare

REPETITIONS = 200
BUDGET = 60  # two extra trainings per schedule of the search


def test_the_confirmed_front_recovers_the_true_front_better_than_the_one_seed_front():
    # The bootstrap's p_front is not scored here; a few resamples keep the 200 replays fast.
    confirm = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=BUDGET, bootstrap_samples=8)
    scores = compare(REPETITIONS, confirm, seed=2026)
    for arm, score in scores.items():
        print(f"{arm:>10}: exact {score.exact_rate:.3f}  jaccard {score.jaccard:.3f}  "
              f"optimism {score.optimism_points:+.3f} points  true HV {score.true_hv_frac:.4f}  "
              f"trainings {score.trainings:.1f}  knee err {score.knee_error_points:.3f}  "
              f"knee >1pt {score.knee_miss_frac:.3f}  wrong off {score.wrong_off_frac:.3f}  "
              f"wrong on {score.wrong_on_frac:.3f}")
    one, refit, confirmed = scores["one_seed"], scores["refit"], scores["confirmed"]
    assert confirmed.trainings <= BUDGET
    # Measured (seed 2026): jaccard 0.51 -> 0.66, optimism +0.51 -> +0.13 points. The thresholds
    # leave room for other seeds (the standard error of each mean is about 0.01 jaccard).
    assert confirmed.jaccard >= one.jaccard + 0.08
    assert confirmed.jaccard >= refit.jaccard + 0.08   # racing the plausible ones is what finds the misses
    assert confirmed.optimism_points <= 0.5 * one.optimism_points
    assert confirmed.true_hv_frac >= one.true_hv_frac
    assert confirmed.exact_rate >= one.exact_rate
    # The exported (knee) point: its reported value is closer to the truth than the one-seed knee's.
    assert confirmed.knee_error_points <= 0.6 * one.knee_error_points
    # The verdicts: measured 5.6 % of the true members wrongly off (mostly paired tests on 3 seeds,
    # repeated each round without a correction), 0.6 % of the `on` verdicts truly dominated.
    assert confirmed.wrong_off_frac <= 0.10 and confirmed.wrong_on_frac <= 0.03
