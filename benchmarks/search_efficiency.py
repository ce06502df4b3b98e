"""FIFO against early stopping: hypervolume reached against training steps spent, same sampler.

For each task and sampler seed, the same search space runs twice through ``run_search`` (real Ray
Tune and Optuna, MLflow off): once with ``scheduler: fifo`` and once with the given rule
(``staircase`` by default). For every search it reports:

* ``steps``: optimizer steps trained, over every trained trial (a trial stopped at rung ``r`` counts
  ``rung_frac * total_steps``; reused and infeasible trials train nothing);
* ``hv_curve``: the search-seed hypervolume after each trained trial against the steps spent so
  far (trial-number order), in the search's own units (metric, cost fraction of FP32);
* ``fresh_hv``: the hypervolume of the search's front retrained on a fresh seed (``--fresh-seed``),
  in process: a one-seed front is optimistic at the cheap end (docs/performance.md), so the fair
  comparison is on a seed neither search selected on;
* ``steps_to_fifo_hv``: for the rule, the steps after which its search-seed hypervolume first
  reached FIFO's final one (``None``: never), and that as a fraction of FIFO's steps; beside it
  ``fifo_steps_to_own_hv``, when FIFO itself first got there (read the two together: with the same
  sampler seed the first trials are identical, so both may reach it before any stop).

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/search_efficiency.py --tasks cora/gcn \\
        --sampler-seeds 0 1 --trials 24 [--budget default] [--rule staircase] [--no-baselines] [--json]

Data: ``CPT_SEARCH_DATA`` (e.g. ``../shared/data``), as for ``cpt-search run``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SPACES = {"cora/gcn": REPO / "search_spaces" / "quickstart.yaml",
          "fashion-mnist/cnn": REPO / "search_spaces" / "fashion_mnist_cnn.yaml"}


def run_one(task: str, budget: str | None, sampler_seed: int, trials: int, rule: dict, root: Path,
            concurrency: int, baselines: bool) -> dict:
    """One search; its steps, hypervolume curve and front."""
    from cpt_search.orchestrate.search import SearchRequest, run_search

    space = yaml.safe_load(SPACES[task].read_text(encoding="utf-8"))
    space.pop("confirm", None)
    name = f"{task.replace('/', '_')}_{rule['name']}_s{sampler_seed}"
    space.update(name=name, trials=trials, concurrency=concurrency, scheduler=rule,
                 include_baselines=baselines)
    space["sampler"] = dict(space.get("sampler") or {}, seed=sampler_seed)
    if budget:
        space["budget"] = budget
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space), encoding="utf-8")
    started = time.perf_counter()
    outcome = run_search(SearchRequest(space_path=path, store_dir=root / "store", tracking=False))
    return summarize(outcome, time.perf_counter() - started)


def summarize(outcome, seconds: float) -> dict:
    import optuna
    from optuna.trial import TrialState

    from cpt_search.pareto import hypervolume_2d
    from cpt_search.search.resume import open_storage

    study = optuna.load_study(study_name=outcome.name, storage=open_storage(outcome.store.optuna_url))
    trials = study.get_trials(deepcopy=False)
    total_steps = next(int(t.user_attrs["result"]["total_steps"]) for t in trials
                       if t.state == TrialState.COMPLETE and (t.user_attrs.get("result") or {}).get("total_steps"))
    seeds = len(study.user_attrs.get("search_seeds") or [0])
    spent, points, curve, stopped = 0.0, [], [], 0
    for t in trials:
        attrs = t.user_attrs
        if attrs.get("infeasible") or attrs.get("reused_from") is not None:
            continue
        if t.state == TrialState.PRUNED and attrs.get("stopped_at_rung"):
            spent += attrs["stopped_at_rung"]["rung_frac"] * total_steps * seeds
            stopped += 1
        elif t.state in (TrialState.COMPLETE, TrialState.FAIL):
            spent += total_steps * seeds
        else:
            continue
        if t.state == TrialState.COMPLETE:
            result = attrs["result"]
            points.append((float(t.values[0]), float(result["bitops"]) / float(result["fp32_bitops"])))
        hv = hypervolume_2d(np.array(points), (0.0, 1.0)) if points else 0.0
        curve.append((spent, hv))
    front = [dict(schedule=m.schedule, label=m.label, metric=m.metric,
                  cost=m.bitops / float(m.extra.get("fp32_bitops") or np.nan)) for m in outcome.front.members]
    return {"name": outcome.name, "seconds": seconds, "steps": spent, "stopped": stopped,
            "trained": len(curve), "hv": curve[-1][1] if curve else 0.0, "hv_curve": curve, "front": front,
            "total_steps_per_trial": total_steps * seeds}


def fresh_hypervolume(task: str, budget: str, front: list[dict], seed: int, data_dir: str) -> float:
    """Hypervolume of ``front``'s schedules retrained once on ``seed`` (in process)."""
    from cpt_search.pareto import hypervolume_2d
    from cpt_search.piecewise import schedule_from_any_dict
    from cpt_search.training import TrialSpec, run_trial

    points = []
    for member in front:
        result = run_trial(TrialSpec(task=task, budget=budget, schedule=schedule_from_any_dict(member["schedule"]),
                                     seed=seed, data_dir=data_dir, threads=1))
        points.append((float(result.metric), float(result.bitops) / float(result.fp32_bitops)))
    return hypervolume_2d(np.array(points), (0.0, 1.0)) if points else 0.0


def steps_to_reach(curve: list, target: float) -> float | None:
    for steps, hv in curve:
        if hv >= target - 1e-12:
            return steps
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["cora/gcn"], choices=sorted(SPACES))
    parser.add_argument("--budget", default=None, help="override the spaces' budget")
    parser.add_argument("--sampler-seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rule", default="staircase")
    parser.add_argument("--fresh-seed", type=int, default=1000)
    parser.add_argument("--no-baselines", action="store_true",
                        help="leave the enqueued baselines out (they are never stopped, so they dilute savings)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)

    from cpt_search.data import prepare_dataset_root
    from cpt_search.search.environment import apply_environment
    from cpt_search.tasks.resolve import resolve_task

    apply_environment()
    rows = []
    with tempfile.TemporaryDirectory(prefix="search_efficiency_") as tmp:
        root = Path(tmp)
        for task in args.tasks:
            budget = args.budget or yaml.safe_load(SPACES[task].read_text(encoding="utf-8"))["budget"]
            data_dir = str(prepare_dataset_root(resolve_task(task).dataset, None, False))
            for seed in args.sampler_seeds:
                runs = {}
                for rule in ({"name": "fifo"}, {"name": args.rule}):
                    run = run_one(task, args.budget, seed, args.trials, rule, root, args.concurrency,
                                  not args.no_baselines)
                    run["fresh_hv"] = fresh_hypervolume(task, budget, run["front"], args.fresh_seed, data_dir)
                    runs[rule["name"]] = run
                    print(f"# {run['name']}: {run['trained']} trained, {run['stopped']} stopped, "
                          f"{run['steps']:.0f} steps, hv {run['hv']:.4f}, fresh-seed hv {run['fresh_hv']:.4f}, "
                          f"{run['seconds']:.0f} s", file=sys.stderr)
                fifo, other = runs["fifo"], runs[args.rule]
                reach = steps_to_reach(other["hv_curve"], fifo["hv"])
                rows.append({
                    "task": task, "budget": budget, "sampler_seed": seed, "rule": args.rule,
                    "fifo": {k: v for k, v in fifo.items() if k != "front"},
                    args.rule: {k: v for k, v in other.items() if k != "front"},
                    "steps_ratio": other["steps"] / fifo["steps"],
                    "steps_to_fifo_hv": reach,
                    "fifo_steps_to_own_hv": steps_to_reach(fifo["hv_curve"], fifo["hv"]),
                    "steps_to_fifo_hv_frac": None if reach is None else reach / fifo["steps"],
                    "fresh_hv_ratio": other["fresh_hv"] / fifo["fresh_hv"] if fifo["fresh_hv"] else None,
                })
    if args.json:
        print(json.dumps({"rows": rows}, indent=2))
    else:
        print(f"{'task':<18} {'seed':>4} {'fifo steps':>11} {'rule steps':>11} {'ratio':>6} {'stopped':>7} "
              f"{'fifo hv':>8} {'rule hv':>8} {'fresh fifo':>10} {'fresh rule':>10} {'to fifo hv':>10}")
        for r in rows:
            f, o = r["fifo"], r[r["rule"]]
            reach = "-" if r["steps_to_fifo_hv_frac"] is None else f"{r['steps_to_fifo_hv_frac']:.2f}"
            print(f"{r['task']:<18} {r['sampler_seed']:>4} {f['steps']:>11.0f} {o['steps']:>11.0f} "
                  f"{r['steps_ratio']:>6.2f} {o['stopped']:>7d} {f['hv']:>8.4f} {o['hv']:>8.4f} "
                  f"{f['fresh_hv']:>10.4f} {o['fresh_hv']:>10.4f} {reach:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
