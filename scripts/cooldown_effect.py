"""Does a closing precision phase move the front? The same small search with and without it.

For a search space, runs (or resumes) two searches that differ only in the two cool-down
dimensions (``cooldown_frac``, ``cooldown_bits``; added with the ranges of
``search_spaces/cora_cooldown.yaml`` when the space lacks them), both under the cost ceiling of
static 8/8, both selecting on the space's validation metric. Every schedule of each front is then
retrained on fresh seeds the searches never saw, the same seeds for both arms (paired, so seed
noise common to both cancels in the difference), and the fronts' hypervolumes of fresh-seed
validation and test metric against relative training cost are compared per seed.

    python scripts/cooldown_effect.py --space search_spaces/cora_cooldown.yaml --out docs/results/cooldown-cora-gcn
    python scripts/cooldown_effect.py --space search_spaces/fashion_mnist_cnn.yaml --budget tiny --trials 12 \
        --no-baselines --out docs/results/cooldown-fashion-mnist-cnn

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

COOLDOWN_SPACE = ROOT / "search_spaces" / "cora_cooldown.yaml"
COOLDOWN_DIMS = ("cooldown_frac", "cooldown_bits")
STATIC_8_8_RELATIVE_COST = 0.0625  # (8 x 8) / (32 x 32): the ceiling both arms search under


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default=str(COOLDOWN_SPACE))
    parser.add_argument("--store", default=None, help="default: cpt_search_runs/cooldown-<space name>")
    parser.add_argument("--out", default="docs/results/cooldown-cora-gcn")
    parser.add_argument("--trials", type=int, default=24, help="sampled trials per arm")
    parser.add_argument("--seeds", default="10,11,12", help="fresh seeds for the re-evaluation")
    parser.add_argument("--budget", default=None, help="the task budget (default: the space's)")
    parser.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True,
                        help="include the presets and static baselines in both arms")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    space = yaml.safe_load(Path(args.space).read_text())
    store = Path(args.store or f"cpt_search_runs/cooldown-{space['name']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store.mkdir(parents=True, exist_ok=True)

    reference_dims = yaml.safe_load(COOLDOWN_SPACE.read_text())["schedule"]
    base = dict(space, trials=args.trials, include_baselines=args.baselines, budget=args.budget or space["budget"],
                constraints={**(space.get("constraints") or {}),
                             "max_relative_cost": STATIC_8_8_RELATIVE_COST})
    metric = (space.get("objective") or {}).get("metric")
    arms = {
        f"{space['name']}_with_cooldown":
            dict(base, name=f"{space['name']}_with_cooldown",
                 schedule={**space["schedule"], **{k: space["schedule"].get(k, reference_dims[k])
                                                   for k in COOLDOWN_DIMS}}),
        f"{space['name']}_without_cooldown":
            dict(base, name=f"{space['name']}_without_cooldown",
                 schedule={k: v for k, v in space["schedule"].items() if k not in COOLDOWN_DIMS}),
    }
    report: dict = {"space": args.space, "budget": base["budget"], "trials_per_arm": args.trials,
                    "baselines": args.baselines,
                    "search_seeds": space.get("seeds", [0]), "fresh_seeds": seeds,
                    "reference": [0.0, STATIC_8_8_RELATIVE_COST], "arms": {}}
    for name, arm in arms.items():
        path = store / f"{name}.yaml"
        path.write_text(yaml.safe_dump(arm, sort_keys=False))
        _cli("run", str(path), "--store", str(store), "--no-mlflow")
        payload = json.loads(_cli("front", name, "--store", str(store), "--format", "json"))
        front = payload["front"]
        unique: dict[Schedule, dict] = {}
        for row in front:  # a schedule repeated by the sampler counts once
            unique.setdefault(Schedule.from_dict(row["schedule"]).canonical(), row)
        rows = [_reevaluate(schedule, row, seeds, arm["task"], arm["budget"]) for schedule, row in unique.items()]
        report["metric"] = metric or (rows[0]["metric_name"] if rows else None)
        report["arms"][name] = {"search_hypervolume": _hv([(r["search_metric"], r["relative_cost"])
                                                           for r in rows]),
                                "rows": rows, **_front_summary(rows, seeds)}
    with_arm, without_arm = (report["arms"][n] for n in arms)
    for split in ("val", "test"):
        diffs = np.subtract(with_arm[f"fresh_{split}_hypervolume_per_seed"],
                            without_arm[f"fresh_{split}_hypervolume_per_seed"])
        report[f"paired_{split}_difference"] = {"per_seed": diffs.tolist(), "mean": float(diffs.mean()),
                                                "std": float(diffs.std(ddof=1)) if len(diffs) > 1 else None}
    (out / "cooldown.json").write_text(json.dumps(report, indent=2))
    (out / "cooldown.md").write_text(_markdown(report))
    print(_markdown(report))


def _cli(*args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
               MLFLOW_DISABLE_TELEMETRY="true")
    done = subprocess.run([sys.executable, "-m", "cpt_search", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cpt-search {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def _reevaluate(schedule: Schedule, row: dict, seeds: list[int], task: str, budget: str) -> dict:
    from cpt_search.training.records import TrialSpec
    from cpt_search.training.runner import run_trial

    fresh = [run_trial(TrialSpec(task=task, budget=budget, schedule=schedule, seed=seed, threads=1))
             for seed in seeds]
    val = [float(r.metric) for r in fresh]
    test = [float(r.test_metric) if r.test_metric is not None else float("nan") for r in fresh]
    return {"label": row["label"], "schedule": schedule.to_dict(), "relative_cost": float(row["relative_cost"]),
            "metric_name": fresh[0].metric_name, "search_metric": float(row[fresh[0].metric_name]),
            "fresh_val": val, "fresh_test": test,
            "fresh_val_mean": float(np.mean(val)), "fresh_val_std": float(np.std(val, ddof=1)),
            "fresh_test_mean": float(np.mean(test)), "fresh_test_std": float(np.std(test, ddof=1))}


def _hv(points: list[tuple[float, float]]) -> float:
    values = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return hypervolume_2d(values[pareto_mask(values)], (0.0, STATIC_8_8_RELATIVE_COST))


def _front_summary(rows: list[dict], seeds: list[int]) -> dict:
    summary: dict = {}
    for split in ("val", "test"):
        per_seed = [_hv([(r[f"fresh_{split}"][i], r["relative_cost"]) for r in rows]) for i in range(len(seeds))]
        summary[f"fresh_{split}_hypervolume_per_seed"] = per_seed
        summary[f"fresh_{split}_hypervolume_mean"] = float(np.mean(per_seed))
        summary[f"fresh_{split}_hypervolume_std"] = float(np.std(per_seed, ddof=1))
    return summary


def _markdown(report: dict) -> str:
    lines = [f"Fronts selected on {report['metric']} (budget {report.get('budget')}, search seeds {report['search_seeds']}, "
             f"{report['trials_per_arm']} sampled trials per arm"
             + (", plus the presets and static baselines" if report["baselines"] else "")
             + f"), re-evaluated on fresh seeds {report['fresh_seeds']}, the same for both arms. "
             f"Hypervolume of the metric vs relative training cost, reference (0, {report['reference'][1]}).", "",
             "| arm | schedule | cost vs FP32 | search val | fresh val mean ± std | fresh test mean ± std |",
             "|---|---|---|---|---|---|"]
    for name, result in report["arms"].items():
        for row in sorted(result["rows"], key=lambda r: r["relative_cost"]):
            lines.append(f"| {name} | {row['label']} | {row['relative_cost']:.4f} | {row['search_metric']:.3f} "
                         f"| {row['fresh_val_mean']:.3f} ± {row['fresh_val_std']:.3f} "
                         f"| {row['fresh_test_mean']:.3f} ± {row['fresh_test_std']:.3f} |")
    lines += ["", "| arm | hypervolume at search | fresh val, per-seed mean ± std | fresh test, per-seed mean ± std |",
              "|---|---|---|---|"]
    for name, result in report["arms"].items():
        lines.append(f"| {name} | {result['search_hypervolume']:.5f} | {result['fresh_val_hypervolume_mean']:.5f} ± "
                     f"{result['fresh_val_hypervolume_std']:.5f} | {result['fresh_test_hypervolume_mean']:.5f} ± "
                     f"{result['fresh_test_hypervolume_std']:.5f} |")
    for split in ("val", "test"):
        d = report[f"paired_{split}_difference"]
        lines.append(f"\nPaired difference (with - without) of fresh {split} hypervolume: {d['mean']:+.5f}"
                     + (f" ± {d['std']:.5f} (std over seeds)" if d["std"] is not None else "")
                     + f"; per seed {', '.join(f'{x:+.5f}' for x in d['per_seed'])}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
