"""Run (or resume) a search: Optuna proposes schedules, Ray Tune trains them, observers record them.

:func:`run_search` is the whole product behind ``cpt-search run``:

1. load and validate the space; lock the search (one driver per search and store);
2. prepare the task's dataset once, here, and hand the absolute root to every trial;
3. open the Optuna study in the store (the source of truth), mark trials a crash left RUNNING as
   interrupted and enqueue them again, enqueue the baselines once;
4. tell the observers (the MLflow recorder unless tracking is off) and make them agree with the study;
5. run the remaining trials with a Ray Tune ``Tuner`` (:func:`cpt_search.search.tuner.run_tuner`):
   :class:`~cpt_search.search.searcher.ScheduleSearch` (multi-objective ``OptunaSearch`` on the stored
   study), failures recorded and skipped; the driver-side
   :class:`~cpt_search.search.callback.SearchCallback` tells the observers about every trial;
6. tell the observers the search finished (the recorder writes the front artifacts) and return a
   :class:`SearchOutcome`.

Ctrl-C stops Tune gracefully; the search is then marked KILLED in MLflow and a rerun of the same
command continues it (see :mod:`cpt_search.search.resume`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cpt_search.disk_full import disk_full_error, is_disk_full
from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.observers import SEARCH, SearchInfo
from cpt_search.orchestrate.session import locked, make_observers, open_session_study, run_session
from cpt_search.records import Progress, ProgressEvent
from cpt_search.records.confirmed import SearchFront
from cpt_search.space.names import check_search_name
from cpt_search.store import Store, experiment_name

log = logging.getLogger(__name__)

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
        tracking: record the search in MLflow (off: the Optuna study alone keeps it).
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
    tracking: bool = True
    data_dir: str | Path | None = None
    download: bool = False
    ray_logs: bool = False


@dataclass(frozen=True)
class SearchOutcome:
    """Where a search stands after :func:`run_search` returns.

    Attributes:
        name: the search name; ``experiment`` its MLflow experiment, ``parent_run_id`` its parent run
            (``None`` with tracking off).
        store: the store (paths, tracking URI).
        target_trials: trained trials the search aims for (sampled + baselines).
        progress: counts of complete, failed, infeasible, interrupted and waiting trials.
        ran_now: trials that finished in this call.
        interrupted: trials found interrupted (at start or end of this call) and enqueued again.
        front: the front (members cheapest first, hypervolume, metric); the seed-confirmed one when
            the space has a ``confirm:`` section and the search is complete.
        confirmation: how the confirmation went (``None`` when none ran).
        complete: whether every target trial has finished.
        gave_up: the sampler proposed only infeasible schedules for too long.
        seconds: wall time of this call.
        test_metric_name: the task's test metric, shown beside the front (``None``: none).
    """

    name: str
    store: Store
    experiment: str
    parent_run_id: str | None
    target_trials: int
    progress: Progress
    ran_now: int
    interrupted: tuple[int, ...]
    front: SearchFront
    complete: bool
    gave_up: bool
    seconds: float
    confirmation: Any = None
    test_metric_name: str | None = None


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
    from cpt_search.space import load_space

    started = time.perf_counter()
    say = on_status or (lambda message: log.info("%s", message))
    space = load_space(request.space_path)
    name = check_search_name(request.name or space.name)
    num_trials = _positive("--trials", request.trials, space.num_trials)
    concurrency = _positive("--concurrency", request.concurrency, space.concurrency)
    store = Store.at(request.store_dir, request.tracking_uri).create()
    if request.tracking:  # before the heavy imports: an unreachable server is reported in seconds
        from cpt_search.tracking.connection import check_server

        check_server(store.tracking_uri)
    try:
        with locked(store, name), contextlib.ExitStack() as cleanup:
            return _run_locked(request, space, name, num_trials, concurrency, store, started, say,
                               on_progress, cleanup)
    except CptSearchError:
        raise
    except Exception as error:
        if is_disk_full(error):  # Optuna, MLflow, Ray Tune or the lock: one line, whichever said it
            raise disk_full_error(store.root) from None
        raise


def _run_locked(request, space, name, num_trials, concurrency, store, started, say, on_progress, cleanup):
    from cpt_search.data import prepare_dataset_root
    from cpt_search.search.environment import apply_environment
    from cpt_search.search.resume import enqueue_baselines_once, open_storage
    from cpt_search.search.samplers import make_sampler
    from cpt_search.search.searcher import ScheduleSearch
    from cpt_search.search.trainable import make_trainable
    from cpt_search.search.tuner import TrialResources, run_tuner
    from cpt_search.tasks.resolve import resolve_task

    apply_environment()
    task = resolve_task(space.task, where=space.source, key="task", search_dirs=space.code_dirs)
    task.check_budget(space.budget, where=space.source)  # unknown budget: fail before anything starts
    metric_name = task.metric_name
    higher_is_better = space.direction == "maximize"
    directions = space.directions

    say(f"preparing data for {space.task}")
    # Once, in the driver: trials preparing one dataset folder at once raced. Trials on other nodes
    # prepare it again where they run, once per node (the cache builds under a lock).
    data_root = prepare_dataset_root(task.dataset, request.data_dir, request.download)
    code = cleanup.enter_context(_shipped_code(space, request, store, data_root, say))

    storage = open_storage(store.optuna_url)
    sampler = make_sampler(_session_space(space, storage, name))
    study, interrupted = open_session_study(
        storage, name, directions, sampler,
        {"task": space.task, "budget": space.budget, "metric_name": metric_name,
         "test_metric_name": task.test_metric_name})
    if interrupted:
        say(f"resuming {name}: {len(interrupted)} interrupted trial(s) enqueued again")
    _record_context(study, space, concurrency)
    enqueued = enqueue_baselines_once(study, space)
    if enqueued:
        say(f"enqueued {enqueued} baselines (paper presets and static schedules) as the first trials")
    target = num_trials + (len(space.baseline_schedules()) if space.include_baselines else 0)
    from cpt_search.orchestrate.sync import TARGET_ATTR

    study.set_user_attr(TARGET_ATTR, target)  # `cpt-search sync` tells a complete search by it
    observers, recorder = make_observers(store, tracking=request.tracking)
    info = SearchInfo(name=name, kind=SEARCH, metric_name=metric_name,
                      test_metric_name=task.test_metric_name,
                      higher_is_better=higher_is_better, seeds=space.seeds,
                      params=_parent_params(space, name, num_trials, target, concurrency, metric_name,
                                            directions, store),
                      space_yaml=space.to_yaml())
    resources = TrialResources(cpus=float(space.resources.cpus), gpus=float(space.resources.gpus))
    trainable = make_trainable(task=space.task, budget=space.budget, seeds=space.seeds,
                               data_dir=str(data_root), threads=resources.threads,
                               metric_name=metric_name, device=resources.device,
                               code_dirs=space.code_dirs, code_digest=None if code is None else code.digest)

    stopping = _stopping_scheduler(space, study, metric_name, higher_is_better, say)
    searchers = []

    def make_searcher(callback):
        searchers.append(ScheduleSearch(space, metric_name=metric_name, higher_is_better=higher_is_better,
                              sampler=sampler, storage=storage, study_name=name,
                              on_infeasible=callback.infeasible, on_reused=callback.reused,
                              target_finished=target, stopping=stopping))
        return searchers[-1]

    def run(searcher, callback, remaining: int) -> None:
        run_tuner(trainable, searcher=searcher, callback=callback, resources=resources,
                  num_samples=remaining, concurrency=concurrency, ray_dir=store.ray_dir(name),
                  ray_address=request.ray_address, ray_logs=request.ray_logs, say=say,
                  scheduler=stopping, runtime_env=None if code is None else code.runtime_env())

    result = run_session(study, info, observers, target=target, higher_is_better=higher_is_better,
                         make_searcher=make_searcher, run=run, on_progress=on_progress, say=say)
    if searchers and searchers[-1].store_error is not None:
        raise disk_full_error(store.root)  # the study was tidied; the rerun resumes
    complete = result.after.finished >= target
    confirmation = None
    if space.confirm is not None and complete:
        from cpt_search.orchestrate.confirm import ConfirmRequest, confirm_locked

        say(f"confirming the front of {name} on seeds {list(space.confirm_settings().seeds)}")
        confirmation = confirm_locked(store, ConfirmRequest(
            name=name, store_dir=store.root, tracking=request.tracking, data_dir=request.data_dir,
            ray_address=request.ray_address), say=say)
    from cpt_search.search.snapshot import load_search

    return SearchOutcome(
        name=name, store=store, experiment=experiment_name(name),
        parent_run_id=None if recorder is None else recorder.parent_run_id,
        target_trials=target, progress=result.after,
        ran_now=result.after.finished - result.before.finished,
        interrupted=tuple(interrupted) + result.interrupted_end, front=load_search(store, name).front,
        complete=complete, gave_up=result.gave_up, seconds=time.perf_counter() - started,
        confirmation=confirmation, test_metric_name=task.test_metric_name)


def _stopping_scheduler(space: Any, study: Any, metric_name: str, higher_is_better: bool,
                        say: Callable[[str], None]) -> Any:
    """The space's early-stopping rule as a Ray scheduler, its state rebuilt from the study
    (``None``: FIFO)."""
    if space.stopping.is_default:
        return None
    from cpt_search.search.scheduler import StoppingScheduler, histories_from_study, schedule_cost

    cost_of = schedule_cost(space.cost_steps)
    rule = space.stopping.build(higher_is_better)
    histories = histories_from_study(study, cost_of)
    rule.restore(histories)
    say(f"early stopping: {space.stopping.describe()}"
        + (f", rung state of {len(histories)} earlier trial(s) restored" if histories else ""))
    return StoppingScheduler(rule, cost_of=cost_of, metric_name=metric_name)


@contextlib.contextmanager
def _shipped_code(space, request, store, data_root, say):
    """The space's code folders staged for a Ray cluster's ``runtime_env`` (``None``: local Ray).

    Joining a cluster (``--ray-address`` or ``$RAY_ADDRESS``) ships the space file's folder and its
    ``code:`` folders, without the search's store and data root; a local Ray's workers import the
    same folders from this machine. The staged copy lives until the search ends.
    """
    import os
    import tempfile

    from cpt_search.search.shipping import stage_code
    from cpt_search.tasks.resolve import is_import_string

    address = request.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address is None or not space.code_dirs or not (is_import_string(space.task) or space.code):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="cpt_search_code-") as folder:
        staged = stage_code(space.code_dirs, folder, skip=(store.root, data_root), where=space.source)
        say(f"shipping {staged.files} file(s) ({staged.shipped_bytes / 2**20:.2f} MiB) of code to the "
            f"cluster: {', '.join(space.code_dirs)}")
        yield staged


def _record_context(study: Any, space: Any, concurrency: int) -> None:
    """What ``cpt-search confirm`` needs later: the search's seeds, how it trained, its ``confirm:``."""
    import dataclasses

    from cpt_search.orchestrate.confirm import CONTEXT_ATTR
    from cpt_search.search.snapshot import SEEDS_ATTR

    study.set_user_attr(SEEDS_ATTR, list(space.seeds))
    settings = space.confirm_settings()
    study.set_user_attr(CONTEXT_ATTR, {
        "concurrency": concurrency, "cpus": space.resources.cpus, "gpus": space.resources.gpus,
        "code_dirs": list(space.code_dirs),  # a user task resolves there when confirmed
        "confirm": None if settings is None else dict(dataclasses.asdict(settings), seeds=list(settings.seeds))})


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


def _positive(flag: str, value: int | None, default: int) -> int:
    if value is None:
        return int(default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{flag} must be a whole number >= 1", key=flag, value=value,
                          fix=f"pass e.g. {flag} {default}")
    return value


def _parent_params(space, name, num_trials, target, concurrency, metric_name, directions, store) -> dict:
    return {
        "search": name, "task": space.task, "budget": space.budget, "seeds": list(space.seeds),
        "sampler": space.sampler.name, "sampler_seed": space.sampler.seed,
        "sampler_options": dict(space.sampler.options), "num_trials": num_trials,
        "target_trials": target, "concurrency": concurrency, "cpus_per_trial": space.resources.cpus,
        "gpus_per_trial": space.resources.gpus,
        # The objective named once (not metric_name plus directions): what the front trades off.
        "objective": f"{directions[0]} {metric_name}, {directions[1]} bitops",
        "include_baselines": space.include_baselines,
        "max_relative_cost": space.constraints.max_relative_cost, "optuna_storage": store.optuna_url_shown,
        "scheduler": space.stopping.name, "scheduler_options": space.stopping.options.model_dump(),
        "optuna_study": name,
    }
