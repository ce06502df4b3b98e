"""Seed confirmation of a finished search: retrain its front on more seeds until it is clear.

:func:`run_confirmation` is ``cpt-search confirm NAME``, and :func:`run_search` calls
:func:`confirm_locked` after a complete search whose space has a ``confirm:`` section. Each round
:func:`cpt_search.confirm.race` (the rule: docs/confirmation.md) says which ``(schedule, seed)`` pairs
to train; they are trained as the fixed jobs of an analysis (:func:`~.analysis.run_jobs`) on the
search's own confirmation study ``NAME.confirm``, keyed by (schedule, seed), so rerunning the command
resumes, and a pair that finished (in the search or an earlier round) is never trained again. At the
end the search study records the settings (so ``front`` and ``export`` rebuild the same confirmed front
from the stored values) and the search's MLflow runs are told the confirmed values.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cpt_search.analysis.jobs import Job
from cpt_search.errors import ConfigError
from cpt_search.observers import SEARCH, SearchInfo
from cpt_search.orchestrate.analysis import AnalysisRequest, run_jobs
from cpt_search.orchestrate.session import locked, make_observers
from cpt_search.records.confirmed import SearchFront, confirm_study_name
from cpt_search.store import Store

log = logging.getLogger(__name__)

CONFIRM = "confirm"  # SearchInfo.kind (and MLflow analysis tag) of the confirmation's trainings
CONTEXT_ATTR = "confirm_context"  # how the search trained: what its confirmation trains with


@dataclass(frozen=True)
class ConfirmRequest:
    """What ``cpt-search confirm`` was asked (``None`` = the space's ``confirm:`` section or the default).

    Attributes:
        name: the finished search.
        seeds: confirm seeds, overriding the recorded ones.
        max_trainings: the training budget, overriding the recorded one.
        concurrency: trainings at once (default: the search's).
        store_dir, tracking_uri, tracking: the store, the MLflow URI, record in MLflow.
        data_dir: data root for the task's dataset.
        ray_address: join this Ray cluster instead of starting a local one.
    """

    name: str
    seeds: tuple[int, ...] | None = None
    max_trainings: int | None = None
    concurrency: int | None = None
    store_dir: str | Path | None = None
    tracking_uri: str | None = None
    tracking: bool = True
    data_dir: str | Path | None = None
    ray_address: str | None = None


@dataclass(frozen=True)
class ConfirmOutcome:
    """Where a confirmation stands.

    Attributes:
        name: the search; ``front`` its confirmed front; ``settings`` the race's settings.
        trained_now: trainings finished in this call; ``trainings`` all confirm trainings so far.
        rounds: rounds run in this call.
        complete: the race is over (nothing left to train, or the budget spent).
    """

    name: str
    front: SearchFront
    settings: Any
    trained_now: int
    trainings: int
    rounds: int
    complete: bool


def run_confirmation(request: ConfirmRequest, *, say: Callable[[str], None] | None = None,
                     on_outcome: Callable[[Any], None] | None = None) -> ConfirmOutcome:
    """Run or resume the confirmation of the finished search ``request.name``.

    Raises:
        TrackingError: no such search, or its driver is running.
        ConfigError: bad seeds or budget; a search with no ``confirm:`` section and no ``--seeds``.
    """
    store = Store.at(request.store_dir, request.tracking_uri).create()
    with locked(store, request.name):
        return confirm_locked(store, request, say=say, on_outcome=on_outcome)


def settings_for(request: ConfirmRequest, attrs: dict[str, Any]) -> Any:
    """The race's settings: the request's seeds and budget over the recorded ones over the defaults."""
    from cpt_search.confirm import ConfirmSettings
    from cpt_search.search.snapshot import CONFIRM_ATTR, SEEDS_ATTR
    from cpt_search.space.sections import DEFAULT_CONFIRM_SEEDS, DEFAULT_CONFIRM_TRAININGS

    # The last confirmation's settings, else the space's confirm: section, else the defaults.
    stored = dict(attrs.get(CONFIRM_ATTR) or (attrs.get(CONTEXT_ATTR) or {}).get("confirm") or {})
    search_seeds = [int(s) for s in attrs.get(SEEDS_ATTR) or (0,)]
    seeds = list(request.seeds) if request.seeds is not None else stored.get("seeds")
    if not seeds:
        seeds = [max(search_seeds) + 1 + k for k in range(DEFAULT_CONFIRM_SEEDS)]
    shared = sorted(set(seeds) & set(search_seeds))
    if shared:
        raise ConfigError(f"confirm seeds must differ from the search's seeds {search_seeds}", key="--seeds",
                          value=list(seeds), fix=f"drop {shared[0]}: a search seed cannot confirm itself")
    stored.update(seeds=tuple(int(s) for s in seeds))
    if request.max_trainings is not None:
        stored["max_trainings"] = request.max_trainings
    stored.setdefault("max_trainings", DEFAULT_CONFIRM_TRAININGS)
    try:
        return ConfirmSettings(**stored)
    except ConfigError as error:
        raise error.with_context(key=f"--{error.key.replace('_', '-')}" if error.key else None) from None


def confirm_locked(store: Store, request: ConfirmRequest, *, say: Callable[[str], None] | None = None,
                   on_outcome: Callable[[Any], None] | None = None) -> ConfirmOutcome:
    """The confirmation, with the search's lock held by the caller."""
    import optuna

    from cpt_search.confirm import race
    from cpt_search.piecewise import schedule_from_any_dict
    from cpt_search.records.confirmed import race_candidates
    from cpt_search.search.environment import apply_environment, ray_session
    from cpt_search.search.resume import open_storage
    from cpt_search.search.snapshot import CONFIRM_ATTR, confirm_values, load_search

    say = say or (lambda message: log.info("%s", message))
    name = request.name
    snapshot = load_search(store, name)
    settings = settings_for(request, dict(snapshot.attrs))
    context = dict(snapshot.attrs.get(CONTEXT_ATTR) or {})
    storage = open_storage(store.optuna_url)
    study = optuna.load_study(study_name=name, storage=storage)
    # Recorded first: `front` shows the confirmation as it stands even if this call is interrupted.
    study.set_user_attr(CONFIRM_ATTR, _plain_settings(settings))
    higher_is_better = snapshot.higher_is_better
    worst = snapshot.front.reference[0]
    analysis = AnalysisRequest(
        task=snapshot.task, budget=snapshot.budget, name=confirm_study_name(name), store_dir=store.root,
        tracking_uri=store.tracking_uri if not store.local_tracking else None, tracking=request.tracking,
        concurrency=int(request.concurrency or context.get("concurrency") or 1),
        cpus_per_trial=int(context.get("cpus") or 1), gpus_per_trial=float(context.get("gpus") or 0.0),
        data_dir=request.data_dir, ray_address=request.ray_address,
        code_dirs=tuple(str(d) for d in context.get("code_dirs") or ()))
    schedules = {str(r.number): r.schedule for r in snapshot.records}
    params = {"task": snapshot.task, "budget": snapshot.budget, "search": name}
    rounds = 0
    complete = False
    held_before = _count(confirm_values(storage, name, worst))
    previous: tuple[tuple[str, int], ...] = ()
    apply_environment()
    from cpt_search.search.ray_processes import LEDGER_NAME

    with ray_session(request.ray_address, ledger=store.ray_dir(name) / LEDGER_NAME):
        while True:
            values = confirm_values(storage, name, worst)
            candidates, _, _ = race_candidates(snapshot.records, snapshot.seeds, values)
            state = race(candidates, settings, higher_is_better)
            pairs = state.next_round()
            if not pairs:
                complete = True
                break
            if pairs == previous:  # trained, yet no value came back: never loop on it
                log.warning("confirmation: round %d asked again for %s; stopping", rounds + 1, pairs)
                break
            previous = pairs
            seeds = ", ".join(str(seed) for seed in sorted({seed for _, seed in pairs}))
            say(f"confirmation round {rounds + 1}: {len(pairs)} training(s) on seed(s) {seeds}, "
                f"{state.trainings_left} of {settings.max_trainings} trainings left")
            new_jobs = [Job(row=f"trial {candidate_id}", kind=CONFIRM,
                            schedule=schedule_from_any_dict(schedules[candidate_id]), seed=seed)
                        for candidate_id, seed in pairs]
            jobs = list({job.key: job for job in _stored_jobs(storage, name) + new_jobs}.values())
            run = run_jobs(jobs, analysis, kind=CONFIRM, params=params, on_outcome=on_outcome)
            rounds += 1
            if not run.complete:
                say("confirmation interrupted: rerun 'cpt-search confirm' to resume")
                break
    snapshot = load_search(store, name)
    trainings = _count(confirm_values(storage, name, worst))
    if request.tracking:
        _tell_recorder(store, snapshot)
    return ConfirmOutcome(name=name, front=snapshot.front, settings=settings, trained_now=trainings - held_before,
                          trainings=trainings, rounds=rounds, complete=complete)


def _count(values: dict[str, dict[int, float]]) -> int:
    return sum(len(per_seed) for per_seed in values.values())


def _stored_jobs(storage: Any, name: str) -> list[Job]:
    """The jobs already enqueued on the confirmation study (each is kept: run_jobs counts them)."""
    import optuna

    from cpt_search.search.resume import study_exists

    study_name = confirm_study_name(name)
    if not study_exists(storage, study_name):
        return []
    study = optuna.load_study(study_name=study_name, storage=storage)
    return [Job.from_dict(t.user_attrs["job"]) for t in study.get_trials(deepcopy=False) if "job" in t.user_attrs]


def _tell_recorder(store: Store, snapshot: Any) -> None:
    """Tell the search's MLflow runs the confirmed front (tags, metrics, the parent's table and files)."""
    observers, recorder = make_observers(store, tracking=True)
    info = SearchInfo(name=snapshot.name, kind=SEARCH, metric_name=snapshot.metric_name,
                      test_metric_name=snapshot.test_metric_name,
                      higher_is_better=snapshot.higher_is_better, seeds=snapshot.seeds, params={})
    observers.search_started(info)  # finds the experiment and parent run (and marks it RUNNING)
    observers.front_confirmed(snapshot.records, snapshot.front)
    recorder.client.set_terminated(recorder.parent_run_id, status="FINISHED")


def _plain_settings(settings: Any) -> dict[str, Any]:
    plain = dataclasses.asdict(settings)
    plain["seeds"] = list(plain["seeds"])
    return plain
