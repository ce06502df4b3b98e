"""How well a reported front recovers the true front: one seed, naive refit, and the confirmation race.

Replays synthetic searches with a known true front (:mod:`cpt_search.confirm.simulate`: 30 schedules,
seed noise shaped like Cora GCN's) and scores, side by side on the same replays, the search's one-seed
front, the naive refit of that front on the confirm seeds, and the race of
:mod:`cpt_search.confirm.racing`, for each budget and noise level asked for. Ratios are against the
one-seed front of the same replays. Pure numpy/scipy: no training, seconds per configuration.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/confirm_recovery.py [--repetitions 200] \
        [--budgets 30 60 120] [--noise 1 2] [--seeds 1 2 3 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from cpt_search.confirm import ConfirmSettings
from cpt_search.confirm.simulate import ARMS, compare


def main() -> None:
    """Parse the flags, replay, print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--budgets", type=int, nargs="+", default=[30, 60, 120])
    parser.add_argument("--noise", type=float, nargs="+", default=[1.0, 2.0],
                        help="factors on the individual seed noise (1 = Cora-like)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4], help="confirm seeds")
    parser.add_argument("--replay-seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for noise in args.noise:
        for budget in args.budgets:
            confirm = ConfirmSettings(seeds=tuple(args.seeds), max_trainings=budget, bootstrap_samples=8)
            start = time.perf_counter()
            scores = compare(args.repetitions, confirm, seed=args.replay_seed, noise_factor=noise)
            seconds = time.perf_counter() - start
            one = scores["one_seed"]
            results.append({
                "noise_factor": noise, "budget": budget, "repetitions": args.repetitions, "seconds": seconds,
                "arms": {arm: vars(scores[arm]) for arm in ARMS},
                "jaccard_ratio": {arm: scores[arm].jaccard / one.jaccard for arm in ARMS},
                "optimism_ratio": {arm: scores[arm].optimism_points / one.optimism_points for arm in ARMS},
            })
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'noise':>5} {'budget':>6} {'arm':>10} {'exact':>6} {'jaccard':>8} {'x one':>6} "
          f"{'optimism':>9} {'x one':>6} {'true HV':>8} {'trainings':>9} {'knee err':>8} {'knee >1pt':>9} "
          f"{'wrong off':>9} {'wrong on':>8}")
    for row in results:
        for arm in ARMS:
            score = row["arms"][arm]
            print(f"{row['noise_factor']:>5g} {row['budget']:>6} {arm:>10} {score['exact_rate']:>6.3f} "
                  f"{score['jaccard']:>8.3f} {row['jaccard_ratio'][arm]:>6.2f} "
                  f"{score['optimism_points']:>+9.3f} {row['optimism_ratio'][arm]:>6.2f} "
                  f"{score['true_hv_frac']:>8.4f} {score['trainings']:>9.1f} "
                  f"{score['knee_error_points']:>8.3f} {score['knee_miss_frac']:>9.3f} "
                  f"{score['wrong_off_frac']:>9.3f} {score['wrong_on_frac']:>8.3f}")


if __name__ == "__main__":
    main()
