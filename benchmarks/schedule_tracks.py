"""How much the vectorised schedule evaluation saves: ``Schedule.tracks`` over a whole training
against asking ``bits_at`` once per step, side by side in one run (ratios, since these machines are
noisy). A trainer, the cost accounting and the export all evaluate whole tracks, so a long training
(a million steps) must stay a fraction of a second.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/schedule_tracks.py [--steps 1000000] [--sample 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from cpt_search.presets import preset


def main() -> None:
    """Time both evaluations for a few presets; print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="training length evaluated")
    parser.add_argument("--sample", type=int, default=20_000,
                        help="steps asked one by one (extrapolated to --steps)")
    parser.add_argument("--presets", nargs="+", default=["CR", "RTH", "ETV"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.presets:
        schedule = preset(name, num_cycles=8)
        start = time.perf_counter()
        bits, _ = schedule.tracks(args.steps)
        tracks_s = time.perf_counter() - start
        stride = max(1, args.steps // args.sample)
        start = time.perf_counter()
        for step in range(0, args.steps, stride):
            assert schedule.bits_at(step, args.steps)[0] == bits[step]
        per_step_s = (time.perf_counter() - start) * stride  # extrapolated to every step
        rows.append({"preset": name, "steps": args.steps, "tracks_s": tracks_s,
                     "per_step_s_extrapolated": per_step_s, "speedup": per_step_s / tracks_s})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'preset':<7} {'tracks (s)':>11} {'bits_at per step (s)':>21} {'ratio':>8}")
    for row in rows:
        print(f"{row['preset']:<7} {row['tracks_s']:>11.3f} {row['per_step_s_extrapolated']:>21.1f} "
              f"{row['speedup']:>7.0f}x")


if __name__ == "__main__":
    main()
