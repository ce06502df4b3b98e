"""Per-trial overhead of a search: each trial inside a real search against the same training alone.

One run measures, side by side:

* **search**: ``run_search`` on ``search_spaces/quickstart.yaml`` (its ``confirm:`` dropped, no
  baselines, one trial at a time), real Ray Tune and Optuna, MLflow recording on to a SQLite file in a
  temporary store (recording is part of a trial's cost). Every trial reports where its time went
  (:func:`cpt_search.search.trainable.overhead_report`); the driver notes the wall clock when each
  trial's recording is done (``on_progress``).
* **alone**: the same schedules and seed trained one after another with ``run_trial`` in one fresh
  Python process (what ``cpt-search train`` does), so torch is imported once.

Per trial of the search, its wall time (from the previous trial's recording done to its own) splits into

* ``start``: previous recording done -> this trial's function entered (Ray stops the last trial,
  Optuna proposes the next, Ray starts or reuses a worker process);
* ``import``, ``data``, ``build``, ``train``: inside the worker (imports of torch and the task,
  reading the dataset, model + quantize + MACs + optimizer, steps + evaluations);
* ``in_trial_other``: the rest inside the trial function (epoch reports, the summary);
* ``driver``: final report sent -> recording done (Ray's result handling, Optuna's tell, MLflow).

The first trial also pays Ray's start and is shown apart; the steady state is the mean of the
others. ``fixed_overhead_s`` = search wall - alone wall of the same schedule (paired), and
``overhead_pct`` its share of the search's trial. Issue #12's target: at most 1 s fixed and at most
5 % of a 30 s trial. Timing is wall clock on a shared machine: read ratios from one run.

    CPT_SEARCH_DATA=/work/shared/data PYTHONPATH=. .venv/bin/python benchmarks/trial_overhead.py \\
        --trials 6 [--task cora/gcn] [--budget default] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "search_spaces" / "quickstart.yaml"
SEED = 0
PHASES = ("start", "import", "data", "build", "train", "in_trial_other", "driver")


def run_searched(task: str, budget: str | None, trials: int, root: Path) -> dict:
    """The search side: per-trial timestamps and reported phases, in finishing order."""
    from cpt_search.orchestrate.search import SearchRequest, run_search
    from cpt_search.search.results import load_records
    from cpt_search.search.resume import open_storage

    space = yaml.safe_load(SPACE.read_text(encoding="utf-8"))
    space.pop("confirm", None)
    space.update(name="overhead", task=task, trials=trials, concurrency=1, include_baselines=False,
                 seeds=[SEED], resources={"cpus": 1, "gpus": 0})
    if budget:
        space["budget"] = budget
    path = root / "overhead.yaml"
    path.write_text(yaml.safe_dump(space), encoding="utf-8")
    recorded: dict[int, float] = {}  # trial number -> wall clock when its recording was done

    def on_progress(event) -> None:
        recorded[event.trial] = time.time()

    store = root / "store"
    started = time.time()
    outcome = run_search(SearchRequest(space_path=path, store_dir=store, tracking=True,
                                       tracking_uri=f"sqlite:///{store / 'mlflow.db'}"),
                         on_progress=on_progress)
    ended = time.time()
    import optuna

    study = optuna.load_study(study_name=outcome.name, storage=open_storage(outcome.store.optuna_url))
    records = {r.number: r for r in load_records(study)}
    rows = []
    previous = started
    previous_pid = None
    for number in sorted(recorded, key=recorded.get):
        record = records[number]
        result = dict(record.result)
        if record.status != "complete" or "trial_entered_unix" not in result:
            previous = recorded[number]
            continue  # failed or reused: no timings of its own
        entered, reported = float(result["trial_entered_unix"]), float(result["final_reported_unix"])
        inside = {"import": result["overhead_import_s"], "data": result["overhead_data_s"],
                  "build": result["overhead_build_s"], "train": result["train_s"]}
        row = {"trial": number, "schedule": dict(record.schedule), "metric": record.values[0],
               "wall_s": recorded[number] - previous, "start_s": entered - previous, **{
                   f"{k}_s": float(v) for k, v in inside.items()},
               "in_trial_other_s": reported - entered - sum(float(v) for v in inside.values()),
               "driver_s": recorded[number] - reported, "worker_pid": result["worker_pid"],
               "fresh_worker": result["worker_pid"] != previous_pid}
        rows.append(row)
        previous, previous_pid = recorded[number], result["worker_pid"]
    return {"rows": rows, "seconds": ended - started,
            "tail_s": ended - max(recorded.values()) if recorded else None}


def run_alone(task: str, budget: str | None, schedules: list[dict], data_dir: str) -> dict:
    """The alone side, in a fresh process (``--alone``), so its import cost is a process's."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"task": task, "budget": budget, "schedules": schedules, "data_dir": data_dir}, handle)
    try:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--alone", handle.name], check=True,
                              capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        seconds = time.perf_counter() - started
    finally:
        os.unlink(handle.name)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_seconds"] = seconds
    return out


def alone_main(path: str) -> int:
    """``--alone FILE``: train the file's schedules with ``run_trial``, print one JSON line."""
    started = time.perf_counter()
    job = json.loads(Path(path).read_text(encoding="utf-8"))
    from cpt_search.piecewise import schedule_from_any_dict
    from cpt_search.training import TrialSpec, run_trial

    rows = []
    for schedule in job["schedules"]:
        before = time.perf_counter()
        result = run_trial(TrialSpec(task=job["task"], budget=job["budget"] or "default",
                                     schedule=schedule_from_any_dict(schedule), seed=SEED,
                                     data_dir=job["data_dir"], device="cpu", threads=1))
        rows.append({"wall_s": time.perf_counter() - before, "metric": result.metric,
                     **{f"{k}_s": v for k, v in result.phase_seconds.items()}})
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    return 0


def summarize(search: dict, alone: dict) -> dict:
    """Steady-state means (trials after the first), paired search/alone differences, the first trial."""
    pairs = list(zip(search["rows"], alone["rows"]))
    steady = pairs[1:] or pairs

    def mean(values):
        values = list(values)
        return statistics.fmean(values) if values else None

    phases = {p: mean(s[f"{p}_s"] for s, _ in steady) for p in PHASES}
    alone_phases = {p: mean(a.get(f"{p}_s", 0.0) for _, a in steady) for p in ("import", "data", "build", "train")}
    search_wall = mean(s["wall_s"] for s, _ in steady)
    alone_wall = mean(a["wall_s"] for _, a in steady)
    fixed = mean(s["wall_s"] - a["wall_s"] for s, a in steady)
    return {
        "trials": len(pairs), "steady_trials": len(steady),
        "search_wall_s": search_wall, "alone_wall_s": alone_wall,
        "alone_train_s": alone_phases["train"], "search_train_s": phases["train"],
        "ratio": search_wall / alone_wall, "fixed_overhead_s": fixed,
        "overhead_pct": 100.0 * fixed / search_wall,
        "overhead_pct_of_30s_trial": 100.0 * fixed / (30.0 + fixed),
        "phases_s": phases, "alone_phases_s": alone_phases,
        "first": {"search_wall_s": pairs[0][0]["wall_s"], "alone_wall_s": pairs[0][1]["wall_s"],
                  **{f"{p}_s": pairs[0][0][f"{p}_s"] for p in PHASES},
                  "alone_phases_s": {p: pairs[0][1].get(f"{p}_s", 0.0) for p in ("import", "data", "build", "train")}},
        "fresh_workers": sum(bool(s["fresh_worker"]) for s, _ in pairs),
        "metrics_equal": all(s["metric"] == a["metric"] for s, a in pairs),
        "search_seconds": search["seconds"], "search_tail_s": search["tail_s"],
        "alone_process_seconds": alone["process_seconds"],
    }


def print_table(summary: dict) -> None:
    first = summary["first"]
    print(f"{'phase (s per trial)':<18} {'search, steady':>14} {'alone, steady':>14} "
          f"{'search, first':>14} {'alone, first':>13}")
    for phase in PHASES:
        alone, alone_first = summary["alone_phases_s"].get(phase), first["alone_phases_s"].get(phase)
        print(f"{phase:<18} {summary['phases_s'][phase]:>14.3f} {'' if alone is None else f'{alone:.3f}':>14} "
              f"{first[phase + '_s']:>14.3f} {'' if alone_first is None else f'{alone_first:.3f}':>13}")
    print(f"{'wall':<18} {summary['search_wall_s']:>14.3f} {summary['alone_wall_s']:>14.3f} "
          f"{first['search_wall_s']:>14.3f} {first['alone_wall_s']:>13.3f}")
    print(f"ratio search/alone {summary['ratio']:.3f}; fixed overhead {summary['fixed_overhead_s']:.3f} s "
          f"per trial = {summary['overhead_pct']:.1f} % of this trial, "
          f"{summary['overhead_pct_of_30s_trial']:.1f} % of a 30 s trial; "
          f"{summary['fresh_workers']} worker process(es) for {summary['trials']} trials; "
          f"metrics equal to alone: {summary['metrics_equal']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=6, help="trials of the search (>= 2)")
    parser.add_argument("--task", default="cora/gcn")
    parser.add_argument("--budget", default=None, help="override the space's budget")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--alone", metavar="FILE", help=argparse.SUPPRESS)  # the alone side's process
    args = parser.parse_args(argv)
    if args.alone:
        return alone_main(args.alone)
    if args.trials < 2:
        print(f"trial_overhead.py: --trials {args.trials}: the steady state needs 2 or more; "
              "use --trials 2 or more", file=sys.stderr)
        return 2

    from cpt_search.data import prepare_dataset_root
    from cpt_search.search.environment import apply_environment
    from cpt_search.tasks.resolve import resolve_task

    apply_environment()
    data_dir = str(prepare_dataset_root(resolve_task(args.task).dataset, None, False))
    with tempfile.TemporaryDirectory(prefix="trial_overhead_") as tmp:
        search = run_searched(args.task, args.budget, args.trials, Path(tmp))
    alone = run_alone(args.task, args.budget, [r["schedule"] for r in search["rows"]], data_dir)
    summary = summarize(search, alone)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"task": args.task, "budget": args.budget, "load_avg": load, "summary": summary,
                          "search": search["rows"], "alone": alone["rows"]}, indent=2))
    else:
        print(f"# {args.task}, {summary['trials']} trials, load average {load[0]:.2f}")
        print_table(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
