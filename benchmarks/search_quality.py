"""Does searching beat the papers' hand-made suite? Fresh-seed hypervolume at equal numbers of trainings.

For each task, every method proposes schedules that are trained on the search seed (0), exactly as
``cpt-search run`` trains them (``run_trial``, one thread each), and returns its one-seed front:

* ``nsga2``, ``tpe``, ``random``: the space's Optuna sampler, swapped for each registered sampler (the
  same ``suggest_schedule`` and sampler factory as the service; the enqueued baselines left out, so
  a search is compared with the suite rather than seeded by it), one ask/tell study per sampler seed;
  its front after the first 12, 24 and 48 trainings (a sequential study's first 12 trials are those
  of a 12-trial search with the same seed, so one 48-trial run per seed gives all three);
* ``presets``: the space's baseline suite (the ten presets of Wolfe & Kyrillidis 2024 at the space's
  baseline bounds, static 8/8 and FP32; docs/method.md section 1): fixed, so one row at its own size.

Every returned front is then judged on **fresh seeds** no search or confirmation used (``--fresh-seeds``,
default 1000-1002): each member is retrained on each, and the front's hypervolume is computed from
the members' fresh mean metric and exact cost (fraction of FP32 training BitOPs), reference point
``(metric 0, cost 1)``. Reported per method and number of trainings:

* ``fresh_hv``: that hypervolume (mean and spread over sampler seeds, and the paired difference with the
  presets on the same fresh seeds);
* ``optimism``: mean over front members of (value the front reported - fresh mean), for the one-seed
  front and for the same trials after the service's seed confirmation (:func:`cpt_search.confirm.race`
  with the space's default ``confirm:`` settings: seeds 1-4, at most 24 extra trainings; the confirmed
  front reports seed-adjusted means, as ``front`` and ``export`` do);
* ``train_s``: training seconds the method spent (its trainings, plus the confirmation's for the
  confirmed rows; fresh-seed evaluations are the measurement and are not counted).

Trainings run in a pool of ``--workers`` processes and are kept, keyed by task, budget, schedule and
seed, in ``--cache`` (JSON lines): a (schedule, seed) pair is trained once for every method that
proposes it, and an interrupted run resumes from the cache. A training that raises (a diverged
schedule) stops the benchmark with its error rather than being scored: none did on Cora's default
budget; rerun with the cache to resume after fixing the cause.

Usage::

    CPT_SEARCH_DATA=../shared/data PYTHONPATH=. .venv/bin/python benchmarks/search_quality.py \\
        --tasks cora/gcn --sampler-seeds 0 1 2 --trainings 12 24 48 [--workers 2] \\
        [--cache /tmp/search_quality.jsonl] [--json]
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import dataclasses
import json
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SPACES = {"cora/gcn": REPO / "search_spaces" / "quickstart.yaml",
          "citeseer/gcn": REPO / "search_spaces" / "quickstart.yaml",  # the same space on the other graph
          "fashion-mnist/cnn": REPO / "search_spaces" / "fashion_mnist_cnn.yaml"}
SAMPLERS = ("nsga2", "tpe", "random")
SEARCH_SEED = 0
# (metric, cost fraction of FP32): accuracy 0 and the cost of FP32 training, so every schedule
# cheaper than FP32 with any accuracy adds area, and the numbers compare across methods and runs.
REFERENCE = (0.0, 1.0)


def train_pair(task: str, budget: Any, schedule: dict, seed: int, data_dir: str) -> dict:
    """One training in a pool worker: the values the benchmark needs from ``run_trial``."""
    from cpt_search.piecewise import schedule_from_any_dict
    from cpt_search.training import TrialSpec, run_trial

    result = run_trial(TrialSpec(task=task, budget=budget, schedule=schedule_from_any_dict(schedule),
                                 seed=seed, data_dir=data_dir, threads=1))
    return {"metric": float(result.metric), "test_metric": result.test_metric,
            "cost": float(result.bitops) / float(result.fp32_bitops), "seconds": float(result.seconds)}


class Trainings:
    """Trained (schedule, seed) pairs of one task: a process pool in front of a JSON-lines cache."""

    def __init__(self, task: str, budget: Any, data_dir: str, pool: futures.Executor, cache: Path | None) -> None:
        self.task, self.budget, self.data_dir, self.pool, self.cache = task, budget, data_dir, pool, cache
        self._lock = threading.Lock()
        self._done: dict[tuple[str, int], dict] = {}
        self._running: dict[tuple[str, int], futures.Future] = {}
        if cache is not None and cache.exists():
            for line in cache.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if row["task"] == task and row["budget"] == budget:
                    self._done[(row["key"], int(row["seed"]))] = row["result"]
        self.trained_now = 0

    def many(self, pairs: list[tuple[dict, int]]) -> list[dict]:
        """The results of many ``(schedule, seed)`` pairs, trained in parallel."""
        return [f.result() for f in [self.submit(schedule, seed) for schedule, seed in pairs]]

    def submit(self, schedule: dict, seed: int) -> futures.Future:
        from cpt_search.records.confirmed import schedule_key

        key = (schedule_key(schedule), int(seed))
        with self._lock:
            if key in self._done:
                done: futures.Future = futures.Future()
                done.set_result(self._done[key])
                return done
            if key not in self._running:
                future = self.pool.submit(train_pair, self.task, self.budget, schedule, int(seed), self.data_dir)
                future.add_done_callback(lambda f, key=key: self._store(key, f))
                self._running[key] = future
            return self._running[key]

    def _store(self, key: tuple[str, int], future: futures.Future) -> None:
        if future.exception() is not None:
            return
        with self._lock:
            self._done[key] = future.result()
            self._running.pop(key, None)
            self.trained_now += 1
            if self.cache is not None:
                with self.cache.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"task": self.task, "budget": self.budget, "key": key[0],
                                          "seed": key[1], "result": future.result()}) + "\n")


@dataclass
class Proposal:
    """One distinct schedule a method trained, in the order it was proposed."""

    schedule: dict
    label: str
    metric: float
    cost: float
    seconds: float
    asked_at: int = 0  # the number of trials asked before it (its first proposal)


@dataclass
class MethodRun:
    """The schedules one method (and sampler seed) trained, in order."""

    method: str
    sampler_seed: int | None
    proposals: list[Proposal] = field(default_factory=list)
    trainings: int = 0  # asked trials; an identical schedule proposed again is answered from the first
    seconds: float = 0.0


def space_for(task: str, sampler: str | None, seed: int, budget: str | None) -> Any:
    """The task's shipped space with ``sampler`` (its shipped options kept when it is the same one)."""
    from cpt_search.space.loading import parse_space

    mapping = dict(yaml.safe_load(SPACES[task].read_text(encoding="utf-8")), task=task)
    mapping.pop("confirm", None)
    if budget:
        mapping["budget"] = budget
    shipped = mapping.get("sampler") or {}
    if sampler is not None:
        options = shipped.get("options") if shipped.get("name") == sampler else None
        mapping["sampler"] = {"name": sampler, "seed": seed, **({"options": options} if options else {})}
    mapping["include_baselines"] = sampler is None
    return parse_space(mapping, where=str(SPACES[task]))


def confirm_settings(task: str) -> Any:
    """The race settings ``cpt-search run`` uses for the task's space: its ``confirm:`` section, or
    the defaults when it has none."""
    from cpt_search.space.loading import parse_space

    mapping = dict(yaml.safe_load(SPACES[task].read_text(encoding="utf-8")), task=task)
    mapping["confirm"] = mapping.get("confirm") or {}
    return parse_space(mapping, where=str(SPACES[task])).confirm_settings()


def run_sampler(space: Any, trainings: Trainings, n: int, method: str, seed: int) -> MethodRun:
    """An ask/tell study of ``n`` trials with the space's sampler: each trial trained on the search seed."""
    import optuna

    from cpt_search.records.confirmed import schedule_key
    from cpt_search.search.samplers import make_sampler
    from cpt_search.search.suggest import suggest_schedule

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(space))
    run = MethodRun(method, seed)
    seen: set[str] = set()
    for _ in range(n):
        trial = study.ask()
        schedule = suggest_schedule(space, trial).to_dict()
        result = trainings.many([(schedule, SEARCH_SEED)])[0]
        study.tell(trial, [result["metric"], result["cost"]])
        run.trainings += 1
        key = schedule_key(schedule)
        if key not in seen:  # the service reuses a twin's result rather than train it again
            seen.add(key)
            run.seconds += result["seconds"]
            run.proposals.append(Proposal(schedule, str(trial.user_attrs.get("label", "")), result["metric"],
                                          result["cost"], result["seconds"], asked_at=run.trainings - 1))
    return run


def run_presets(space: Any, trainings: Trainings) -> MethodRun:
    """The space's baseline suite trained on the search seed."""
    run = MethodRun("presets", None)
    suite = space.baseline_schedules()
    results = trainings.many([(schedule.to_dict(), SEARCH_SEED) for _, schedule in suite])
    for (label, schedule), result in zip(suite, results):
        run.trainings += 1
        run.seconds += result["seconds"]
        run.proposals.append(Proposal(schedule.to_dict(), label, result["metric"], result["cost"], result["seconds"]))
    return run


def one_seed_front(proposals: list[Proposal]) -> list[int]:
    """Indices of the non-dominated proposals on the search seed."""
    from cpt_search.pareto import pareto_mask

    values = np.array([[p.metric, p.cost] for p in proposals])
    return np.flatnonzero(pareto_mask(values)).tolist()


def confirm(proposals: list[Proposal], trainings: Trainings,
            settings: Any) -> tuple[list[int], dict[int, float], float]:
    """The service's seed confirmation of these trials: confirmed front, reported values, seconds spent."""
    from cpt_search.confirm import RaceCandidate, race

    values = {i: {SEARCH_SEED: p.metric} for i, p in enumerate(proposals)}
    spent = 0.0

    def state_now() -> Any:
        return race([RaceCandidate(str(i), p.cost, values[i]) for i, p in enumerate(proposals)], settings,
                    higher_is_better=True)

    state = state_now()
    while not state.finished:
        pairs = [(int(i), seed) for i, seed in state.next_round()]
        for (i, seed), result in zip(pairs, trainings.many([(proposals[i].schedule, s) for i, s in pairs])):
            values[i][seed] = result["metric"]
            spent += result["seconds"]
        state = state_now()
    front = state.front()
    members = [int(i) for i in front.ids]
    reported = {int(r.id): float(r.stats.adjusted_mean) for r in state.records if int(r.id) in members}
    return members, reported, spent


def judge(proposals: list[Proposal], members: list[int], reported: dict[int, float], trainings: Trainings,
          fresh_seeds: list[int]) -> dict:
    """Fresh-seed hypervolume and optimism of a returned front."""
    from cpt_search.pareto import hypervolume_2d

    results = trainings.many([(proposals[i].schedule, seed) for i in members for seed in fresh_seeds])
    fresh = {i: float(np.mean([r["metric"] for r in results[k * len(fresh_seeds):(k + 1) * len(fresh_seeds)]]))
             for k, i in enumerate(members)}
    points = np.array([[fresh[i], proposals[i].cost] for i in members])
    return {"members": len(members),
            "labels": [proposals[i].label or f"#{i}" for i in members],
            "fresh_hv": hypervolume_2d(points, REFERENCE) if len(points) else 0.0,
            "optimism": float(np.mean([reported[i] - fresh[i] for i in members])) if members else 0.0,
            "max_optimism": float(max(reported[i] - fresh[i] for i in members)) if members else 0.0}


def evaluate(run: MethodRun, n: int, trainings: Trainings, settings: Any, fresh_seeds: list[int]) -> dict:
    """One row: the method's first ``n`` trainings, one-seed and confirmed fronts judged on fresh seeds."""
    kept = [p for p in run.proposals if p.asked_at < n]  # n asked trials; a repeated schedule is one
    first = one_seed_front(kept)
    one = judge(kept, first, {i: kept[i].metric for i in first}, trainings, fresh_seeds)
    members, reported, confirm_s = confirm(kept, trainings, settings)
    confirmed = judge(kept, members, reported, trainings, fresh_seeds)
    search_s = sum(p.seconds for p in kept)
    return {"method": run.method, "sampler_seed": run.sampler_seed, "trainings": n, "distinct": len(kept),
            "one_seed": dict(one, train_s=search_s), "confirmed": dict(confirmed, train_s=search_s + confirm_s)}


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and spread over sampler seeds per method and size; paired difference with the presets."""
    presets = next((r for r in rows if r["method"] == "presets"), None)
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        for n in sorted({r["trainings"] for r in rows if r["method"] == method}):
            group = [r for r in rows if r["method"] == method and r["trainings"] == n]
            entry: dict[str, Any] = {"method": method, "trainings": n, "runs": len(group)}
            for arm in ("one_seed", "confirmed"):
                hv = np.array([r[arm]["fresh_hv"] for r in group])
                entry[arm] = {"fresh_hv_mean": float(hv.mean()),
                              "fresh_hv_std": float(hv.std(ddof=1)) if len(hv) > 1 else 0.0,
                              "optimism_mean": float(np.mean([r[arm]["optimism"] for r in group])),
                              "members_mean": float(np.mean([r[arm]["members"] for r in group])),
                              "train_s_mean": float(np.mean([r[arm]["train_s"] for r in group]))}
                if presets is not None and method != "presets":
                    diff = hv - presets[arm]["fresh_hv"]
                    entry[arm]["minus_presets_mean"] = float(diff.mean())
                    entry[arm]["beats_presets"] = f"{int((diff > 0).sum())}/{len(diff)}"
            out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["cora/gcn"], choices=sorted(SPACES))
    parser.add_argument("--budget", default=None, help="override the spaces' budget (e.g. tiny for a smoke run)")
    parser.add_argument("--methods", nargs="+", default=[*SAMPLERS, "presets"], choices=[*SAMPLERS, "presets"])
    parser.add_argument("--sampler-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trainings", nargs="+", type=int, default=[12, 24, 48])
    parser.add_argument("--fresh-seeds", nargs="+", type=int, default=[1000, 1001, 1002])
    parser.add_argument("--confirm-trainings", type=int, default=None,
                        help="the confirmation's training budget (default: the space's confirm: settings)")
    parser.add_argument("--workers", type=int, default=2, help="training processes (one thread each)")
    parser.add_argument("--cache", type=Path, default=None, help="JSON-lines file of trainings: resume, share")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)

    from cpt_search.data import prepare_dataset_root
    from cpt_search.search.environment import apply_environment
    from cpt_search.tasks.resolve import resolve_task

    apply_environment()
    document: dict[str, Any] = {"reference": REFERENCE, "search_seed": SEARCH_SEED, "fresh_seeds": args.fresh_seeds,
                                "tasks": []}
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # the driver runs threads; never fork them
    with futures.ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        for task in args.tasks:
            base = space_for(task, None, 0, args.budget)
            settings = confirm_settings(task)
            if args.confirm_trainings is not None:
                settings = dataclasses.replace(settings, max_trainings=args.confirm_trainings)
            if any(seed in settings.seeds or seed == SEARCH_SEED for seed in args.fresh_seeds):
                parser.error(f"--fresh-seeds {args.fresh_seeds} overlap the search seed {SEARCH_SEED} or the "
                             f"confirm seeds {list(settings.seeds)}: use e.g. 1000 1001 1002")
            data_dir = str(prepare_dataset_root(resolve_task(task).dataset, None, False))
            trainings = Trainings(task, base.budget, data_dir, pool, args.cache)
            largest = max(args.trainings)
            jobs = {(method, seed): (space_for(task, method, seed, args.budget), method, seed)
                    for method in args.methods if method != "presets" for seed in args.sampler_seeds}
            with futures.ThreadPoolExecutor(max_workers=max(1, len(jobs))) as threads:
                pending = {key: threads.submit(run_sampler, space, trainings, largest, method, seed)
                           for key, (space, method, seed) in jobs.items()}
                runs = [run_presets(base, trainings)] if "presets" in args.methods else []
                runs += [future.result() for future in pending.values()]
            print(f"# {task}: searches done, {trainings.trained_now} trained so far "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
            sizes = {r.method: ([len(r.proposals)] if r.method == "presets" else args.trainings) for r in runs}
            with futures.ThreadPoolExecutor(max_workers=4) as threads:
                rows = list(threads.map(lambda job: evaluate(*job),
                                        [(run, n, trainings, settings, args.fresh_seeds)
                                         for run in runs for n in sizes[run.method]]))
            print(f"# {task}: judged, {trainings.trained_now} trained in this run "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
            document["tasks"].append({"task": task, "budget": base.budget, "confirm": {
                "seeds": list(settings.seeds), "max_trainings": settings.max_trainings, "alpha": settings.alpha},
                "rows": rows, "summary": summarize(rows)})
    document["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print_table(document)
    return 0


def print_table(document: dict) -> None:
    """One line per method and number of trainings: fresh-seed hypervolume and optimism, both arms."""
    for entry in document["tasks"]:
        print(f"{entry['task']} ({entry['budget']}), fresh seeds {document['fresh_seeds']}, "
              f"reference {tuple(document['reference'])}, confirm {entry['confirm']}")
        print(f"{'method':<8} {'n':>3} {'runs':>4} | {'fresh hv':>16} {'vs presets':>10} {'optimism':>8} "
              f"{'front':>5} {'train s':>7} | confirmed: {'fresh hv':>16} {'vs presets':>10} {'optimism':>8} "
              f"{'front':>5} {'train s':>7}")
        for s in entry["summary"]:
            cells = []
            for arm in ("one_seed", "confirmed"):
                a = s[arm]
                vs = f"{a['minus_presets_mean']:+.4f}" if "minus_presets_mean" in a else "-"
                cells.append(f"{a['fresh_hv_mean']:.4f} ± {a['fresh_hv_std']:.4f} {vs:>10} "
                             f"{a['optimism_mean']:>+8.4f} {a['members_mean']:>5.1f} {a['train_s_mean']:>7.0f}")
            print(f"{s['method']:<8} {s['trainings']:>3} {s['runs']:>4} | {cells[0]} | confirmed: {cells[1]}")


if __name__ == "__main__":
    raise SystemExit(main())
