"""Run (or resume) a search: Optuna proposes schedules, Ray Tune trains them, MLflow records them.

:func:`run_search` is the whole product behind ``cpt-search run``:

1. load and validate the space; lock the search (one driver per search and store);
2. prepare the task's dataset once, here, and hand the absolute root to every trial;
3. open the Optuna study in the store (the source of truth), mark trials a crash left RUNNING as
   interrupted and enqueue them again, enqueue the baselines once;
4. open MLflow (experiment, parent run) and make it agree with the study;
5. run the remaining trials with a Ray Tune ``Tuner``: :class:`~cpt_search.search.searcher.ScheduleSearch`
   (multi-objective ``OptunaSearch`` on the stored study), FIFO scheduling (no Tune scheduler supports
   several objectives), ``max_concurrent_trials``, per-trial resources, failures recorded and skipped;
   the driver-side :class:`~cpt_search.tracking.callback.SearchCallback` records every trial;
6. write the front artifacts and return a :class:`SearchOutcome`.

Ctrl-C stops Tune gracefully; the search is then marked KILLED in MLflow and a rerun of the same
command continues it (see :mod:`cpt_search.search.resume`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cpt_search.errors import ConfigError, TrackingError
from cpt_search.search.progress import ProgressEvent
from cpt_search.search.resume import Progress
from cpt_search.select import Candidate
from cpt_search.tracking.store import Store, check_search_name, experiment_name

log = logging.getLogger(__name__)

STUDY_IDENTITY_ATTRS = ("task", "budget", "metric_name")


@dataclass(frozen=True)
class SearchRequest:
    """What ``cpt-search run`` was asked (``None`` = the space file's value or the default).

    Attributes:
        space_path: the search-space YAML.
        name: the search name (default: the space's name).
        trials: sampled trials, overriding the space's ``trials`` (baselines come on top).
        concurrency: trials at once, overriding the space's ``concurrency``.
        store_dir: the store directory (default ``./cpt_search_runs``).
        ray_address: join this Ray cluster (``auto``) instead of starting a local one.
        tracking_uri: MLflow tracking URI (default: the store's SQLite file).
        data_dir: data root for the task's dataset.
        download: allow the standard torchvision / torch-geometric download of missing data.
        ray_logs: forward trial workers' stdout/stderr to this process (debugging).
    """

    space_path: str | Path
    name: str | None = None
    trials: int | None = None
    concurrency: int | None = None
    store_dir: str | Path | None = None
    ray_address: str | None = None
    tracking_uri: str | None = None
    data_dir: str | Path | None = None
    download: bool = False
    ray_logs: bool = False


@dataclass(frozen=True)
class SearchOutcome:
    """Where a search stands after :func:`run_search` returns.

    Attributes:
        name: the search name; ``experiment`` its MLflow experiment, ``parent_run_id`` its parent run.
        store: the store (paths, tracking URI).
        target_trials: trained trials the search aims for (sampled + baselines).
        progress: counts of complete, failed, infeasible, interrupted and waiting trials.
        ran_now: trials that finished in this call.
        interrupted: trials found interrupted (at start or end of this call) and enqueued again.
        front: the front's candidates, cheapest first; ``hypervolume`` its hypervolume.
        complete: whether every target trial has finished.
        gave_up: the sampler proposed only infeasible schedules for too long.
        seconds: wall time of this call.
    """

    name: str
    store: Store
    experiment: str
    parent_run_id: str
    target_trials: int
    progress: Progress
    ran_now: int
    interrupted: tuple[int, ...]
    front: tuple[Candidate, ...]
    hypervolume: float
    metric_name: str
    higher_is_better: bool
    complete: bool
    gave_up: bool
    seconds: float


def run_search(request: SearchRequest, *,
               on_progress: Callable[[ProgressEvent], None] | None = None,
               on_status: Callable[[str], None] | None = None) -> SearchOutcome:
    """Run or resume the search described by ``request``.

    Args:
        request: the space file and overrides.
        on_progress: called after every finished (or skipped infeasible) trial.
        on_status: called with one-line status messages (starting Ray, resuming, ...).

    Raises:
        ConfigError: bad space file or overrides.
        UnknownNameError: unknown task, budget or sampler.
        DataError: the task's data is missing.
        TrackingError: the store is locked by another run, or MLflow/Optuna cannot be used.
    """
    from filelock import FileLock, Timeout

    from cpt_search.space import load_space

    started = time.perf_counter()
    say = on_status or (lambda message: log.info("%s", message))
    space = load_space(request.space_path)
    name = check_search_name(request.name or space.name)
    num_trials = _positive("--trials", request.trials, space.num_trials)
    concurrency = _positive("--concurrency", request.concurrency, space.concurrency)
    store = Store.at(request.store_dir, request.tracking_uri).create()
    lock = FileLock(str(store.lock_path(name)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise TrackingError("another 'cpt-search run' of this search is running", where=str(store.root),
                            key="name", value=name,
                            fix="wait for it to finish, or stop it (Ctrl-C) and rerun to resume") from None
    try:
        return _run_locked(request, space, name, num_trials, concurrency, store, started, say,
                           on_progress)
    finally:
        lock.release()


def _run_locked(request, space, name, num_trials, concurrency, store, started, say, on_progress):
    from cpt_search.data import prepare
    from cpt_search.search.environment import apply_environment
    from cpt_search.search.resume import (enqueue_baselines_once, open_storage, open_study,
                                          progress_of, reconcile_interrupted)
    from cpt_search.search.results import candidates, load_records
    from cpt_search.search.samplers import make_sampler
    from cpt_search.tasks import TASKS
    from cpt_search.tracking.callback import FrontTracker
    from cpt_search.tracking.recorder import SearchRecorder

    apply_environment()
    task = TASKS.get(space.task, where=space.source, key="task")
    task.budget(space.budget)  # unknown budget: fail before anything starts
    metric_name = task.metric_name
    higher_is_better = (space.objective.direction or
                        ("maximize" if task.higher_is_better else "minimize")) == "maximize"
    directions = ("maximize" if higher_is_better else "minimize", "minimize")

    say(f"preparing data for {space.task}")
    data_root = prepare(space.task, request.data_dir, request.download)  # once, in the driver (STACK.md: races)

    storage = open_storage(store.optuna_url)
    sampler = make_sampler(_session_space(space, storage, name))
    study = open_study(storage, name, directions, sampler)
    _check_identity(study, name, {"task": space.task, "budget": space.budget, "metric_name": metric_name})
    interrupted = reconcile_interrupted(study)
    if interrupted:
        say(f"resuming {name}: {len(interrupted)} interrupted trial(s) enqueued again")
    enqueued = enqueue_baselines_once(study, space)
    if enqueued:
        say(f"enqueued {enqueued} baselines (paper presets and static schedules) as the first trials")
    target = num_trials + (len(space.baseline_schedules()) if space.include_baselines else 0)

    recorder = SearchRecorder(store, name, metric_name=metric_name, higher_is_better=higher_is_better,
                              seeds=space.seeds)
    recorder.open(params=_parent_params(space, name, num_trials, target, concurrency, metric_name,
                                        directions, store), space_yaml=space.to_yaml())
    records = load_records(study)
    recorder.sync(records)
    tracker = FrontTracker(study, recorder, higher_is_better=higher_is_better, total_trials=target,
                           on_progress=on_progress)
    tracker.refresh()
    before = progress_of(records)
    remaining = target - before.finished
    gave_up = False
    if before.finished:
        say(f"resuming {name}: {before.finished} of {target} trials already finished")
    try:
        if remaining > 0:
            gave_up = _tune(request, space, name, sampler, storage, store, tracker, data_root,
                            remaining, target, concurrency, metric_name, higher_is_better, say)
    finally:
        # Reached on success, Ctrl-C and errors alike: tidy the study and MLflow, write the front.
        interrupted_end = reconcile_interrupted(study)
        records = load_records(study)
        recorder.sync(records)
        _, state = tracker.refresh()
        after = progress_of(records)
        complete = after.finished >= target
        cands = candidates(records)
        recorder.finish(records, cands, state, complete=complete)
    front = tuple(sorted((c for c in cands if c.trial in state.on_front), key=lambda c: c.bitops))
    return SearchOutcome(
        name=name, store=store, experiment=experiment_name(name), parent_run_id=recorder.parent_run_id,
        target_trials=target, progress=after, ran_now=after.finished - before.finished,
        interrupted=tuple(interrupted) + tuple(interrupted_end), front=front,
        hypervolume=state.hypervolume, metric_name=metric_name, higher_is_better=higher_is_better,
        complete=complete, gave_up=gave_up, seconds=time.perf_counter() - started)


def _tune(request, space, name, sampler, storage, store, tracker, data_root, remaining, target,
          concurrency, metric_name, higher_is_better, say) -> bool:
    """Run ``remaining`` trials with Ray Tune; returns whether the searcher gave up."""
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler

    from cpt_search.search.environment import ray_session
    from cpt_search.search.searcher import ScheduleSearch
    from cpt_search.search.trainable import make_trainable
    from cpt_search.tracking.callback import SearchCallback

    callback = SearchCallback(tracker)
    searcher = ScheduleSearch(space, metric_name=metric_name, higher_is_better=higher_is_better,
                              sampler=sampler, storage=storage, study_name=name,
                              on_infeasible=callback.infeasible, on_reused=callback.reused,
                              target_finished=target)
    cpus = float(space.resources.cpus)
    gpus = float(space.resources.gpus)
    trainable = make_trainable(task=space.task, budget=space.budget, seeds=space.seeds,
                               data_dir=str(data_root), threads=max(1, int(cpus)),
                               metric_name=metric_name, device="cuda" if gpus > 0 else "cpu")
    resources = {"cpu": cpus, "gpu": gpus} if gpus > 0 else {"cpu": cpus}
    session = _session_name(store.ray_dir(name))
    with ray_session(request.ray_address, log_to_driver=request.ray_logs) as started_ray:
        say(f"running {remaining} trial(s), {concurrency} at once"
            + (" on a local Ray (127.0.0.1)" if started_ray else " on the connected Ray"))
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources),
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=FIFOScheduler(),
                                        num_samples=remaining, max_concurrent_trials=concurrency,
                                        reuse_actors=False, trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=session, storage_path=str(store.ray_dir(name)), callbacks=[callback],
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False), verbose=0),
        )
        tuner.fit()
    if callback.tracking_errors:
        log.warning("%d MLflow logging call(s) failed during the run; the study was used to repair "
                    "the records", callback.tracking_errors)
    return searcher.gave_up


def _session_space(space, storage, name: str):
    """The space with its sampler seed offset by the trials already in the study.

    A seeded sampler restarts its random stream in every session; on a resume it would propose the
    first session's schedules again. Offsetting the seed by the stored trial count keeps a search
    run in one go reproducible and gives each resumed session fresh draws.
    """
    import dataclasses

    from cpt_search.search.resume import study_exists

    seed = space.sampler.seed
    if seed is None or not study_exists(storage, name):
        return space
    import optuna

    count = len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
    if count == 0:
        return space
    return dataclasses.replace(space, sampler=space.sampler.model_copy(update={"seed": seed + count}))


def _trial_name(trial) -> str:
    """``trial-0007``: the Optuna trial number (Tune's default puts the whole config in the name)."""
    info = (trial.config or {}).get("cpt") or {}
    number = info.get("optuna_trial_number")
    return f"trial-{number:04d}" if isinstance(number, int) else f"trial-{trial.trial_id}"


def _session_name(ray_dir: Path) -> str:
    existing = [p for p in ray_dir.glob("session-*") if p.is_dir()] if ray_dir.exists() else []
    return f"session-{len(existing) + 1:03d}"


def _positive(flag: str, value: int | None, default: int) -> int:
    if value is None:
        return int(default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{flag} must be a whole number >= 1", key=flag, value=value,
                          fix=f"pass e.g. {flag} {default}")
    return value


def _check_identity(study, name: str, identity: dict[str, str]) -> None:
    """A stored search must keep its task, budget and metric (else the front mixes apples and pears)."""
    stored = {k: study.user_attrs.get(k) for k in identity}
    if all(v is None for v in stored.values()):
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return
    for key, value in identity.items():
        if stored.get(key) is not None and stored[key] != value:
            raise TrackingError(f"search {name!r} already exists with another {key}", where="optuna",
                                key=key, value=value,
                                fix=f"it was {stored[key]!r}: use another --name or another --store")


def _parent_params(space, name, num_trials, target, concurrency, metric_name, directions, store) -> dict:
    return {
        "search": name, "task": space.task, "budget": space.budget, "seeds": list(space.seeds),
        "sampler": space.sampler.name, "sampler_seed": space.sampler.seed,
        "sampler_options": dict(space.sampler.options), "num_trials": num_trials,
        "target_trials": target, "concurrency": concurrency, "cpus_per_trial": space.resources.cpus,
        "gpus_per_trial": space.resources.gpus, "metric_name": metric_name,
        "directions": list(directions), "include_baselines": space.include_baselines,
        "max_relative_cost": space.constraints.max_relative_cost, "optuna_storage": store.optuna_url,
        "optuna_study": name,
    }
