"""Does a closing precision phase move the front? The same small search with and without it.

Runs (or resumes) two searches that differ only in the two cool-down dimensions
(``search_spaces/cora_cooldown.yaml`` and a copy without ``cooldown_frac`` / ``cooldown_bits``),
retrains every schedule of each front on fresh seeds (the searches saw seed 0 only: one-seed
fronts are optimistic at the cheap end), and compares the fronts' hypervolumes of fresh-seed
test accuracy against relative training cost, per seed and on the seed means.

    python scripts/cooldown_effect.py --store cpt_search_runs/cooldown --out docs/results/cooldown-cora-gcn

Writes ``cooldown.md`` and ``cooldown.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpt_search.pareto import hypervolume_2d, pareto_mask  # noqa: E402
from cpt_search.schedule import Schedule  # noqa: E402

SPACE = ROOT / "search_spaces" / "cora_cooldown.yaml"
COOLDOWN_DIMS = ("cooldown_frac", "cooldown_bits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="cpt_search_runs/cooldown")
    parser.add_argument("--out", default="docs/results/cooldown-cora-gcn")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seeds", default="10,11,12", help="fresh seeds for the re-evaluation")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    store, out = Path(args.store), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    space = yaml.safe_load(SPACE.read_text())
    limit = float(space["constraints"]["max_relative_cost"])
    control = dict(space, name="cora_no_cooldown",
                   schedule={k: v for k, v in space["schedule"].items() if k not in COOLDOWN_DIMS})
    control_path = store / "cora_no_cooldown.yaml"
    store.mkdir(parents=True, exist_ok=True)
    control_path.write_text(yaml.safe_dump(control, sort_keys=False))

    report: dict = {"space": str(SPACE.relative_to(ROOT)), "trials": args.trials, "search_seed": space["seeds"],
                    "fresh_seeds": seeds, "reference": [0.0, limit], "searches": {}}
    for name, path in (("cora_cooldown", SPACE), ("cora_no_cooldown", control_path)):
        _cli("run", str(path), "--store", str(store), "--trials", str(args.trials), "--no-mlflow")
        front = json.loads(_cli("front", name, "--store", str(store), "--format", "json"))["front"]
        unique: dict[Schedule, dict] = {}
        for row in front:  # a schedule repeated by the sampler counts once
            unique.setdefault(Schedule.from_dict(row["schedule"]).canonical(), row)
        rows = [_reevaluate(schedule, row, seeds, space["task"], space["budget"])
                for schedule, row in unique.items()]
        report["searches"][name] = {"search_hypervolume": _hv([(r["search_accuracy"], r["relative_cost"])
                                                                for r in rows], limit),
                                    "rows": rows, **_front_summary(rows, seeds, limit)}
    (out / "cooldown.json").write_text(json.dumps(report, indent=2))
    (out / "cooldown.md").write_text(_markdown(report))
    print(_markdown(report))


def _cli(*args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
               MLFLOW_DISABLE_TELEMETRY="true")
    done = subprocess.run([sys.executable, "-m", "cpt_search", *args], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


def _reevaluate(schedule: Schedule, row: dict, seeds: list[int], task: str, budget: str) -> dict:
    from cpt_search.training.records import TrialSpec
    from cpt_search.training.runner import run_trial

    fresh = [run_trial(TrialSpec(task=task, budget=budget, schedule=schedule, seed=seed, threads=1))
             for seed in seeds]
    accuracies = [float(r.metric) for r in fresh]
    return {"label": row["label"], "schedule": schedule.to_dict(), "relative_cost": float(row["relative_cost"]),
            "search_accuracy": float(row["test_accuracy"]), "fresh_accuracies": accuracies,
            "fresh_mean": float(np.mean(accuracies)), "fresh_std": float(np.std(accuracies, ddof=1))}


def _hv(points: list[tuple[float, float]], limit: float) -> float:
    values = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return hypervolume_2d(values[pareto_mask(values)], (0.0, limit))


def _front_summary(rows: list[dict], seeds: list[int], limit: float) -> dict:
    per_seed = [_hv([(r["fresh_accuracies"][i], r["relative_cost"]) for r in rows], limit)
                for i in range(len(seeds))]
    return {"fresh_hypervolume_per_seed": per_seed, "fresh_hypervolume_mean": float(np.mean(per_seed)),
            "fresh_hypervolume_std": float(np.std(per_seed, ddof=1)),
            "fresh_hypervolume_of_means": _hv([(r["fresh_mean"], r["relative_cost"]) for r in rows], limit)}


def _markdown(report: dict) -> str:
    lines = [f"Fronts re-evaluated on seeds {report['fresh_seeds']} (the searches saw seed "
             f"{report['search_seed']}); hypervolume of test accuracy vs relative cost, reference "
             f"(0, {report['reference'][1]}).", "",
             "| search | schedule | cost vs FP32 | search acc (seed 0) | fresh acc mean ± std |",
             "|---|---|---|---|---|"]
    for name, result in report["searches"].items():
        for row in sorted(result["rows"], key=lambda r: r["relative_cost"]):
            lines.append(f"| {name} | {row['label']} | {row['relative_cost']:.4f} | {row['search_accuracy']:.3f} "
                         f"| {row['fresh_mean']:.3f} ± {row['fresh_std']:.3f} |")
    lines += ["", "| search | hypervolume (search, seed 0) | fresh, per seed mean ± std | fresh, of the means |",
              "|---|---|---|---|"]
    for name, result in report["searches"].items():
        lines.append(f"| {name} | {result['search_hypervolume']:.5f} | {result['fresh_hypervolume_mean']:.5f} ± "
                     f"{result['fresh_hypervolume_std']:.5f} | {result['fresh_hypervolume_of_means']:.5f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
