"""The papers' analyses run by the search engine: a fixed list of trials, then a report.

An analysis (``reproduce``, ``critical-period``) is a search whose trials are fixed in advance: every
(schedule, seed) job is enqueued once on the analysis's own Optuna study in the store, then the same
searcher, trainable, Ray callback and observers as a search run them (:mod:`~.session`). Rerunning
the same command resumes: finished jobs are read back from the study, interrupted ones run again,
nothing is recorded twice. The report (Markdown, CSV, JSON, PNG) is composed from the finished jobs
(:mod:`cpt_search.analysis.report_files`), written to ``--out`` (default ``STORE/reports/NAME``) and
handed to the observers (the MLflow recorder attaches it to the parent run).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from cpt_search.analysis.jobs import NOT_RUN, Job, Outcome
from cpt_search.observers import SearchInfo
from cpt_search.orchestrate.session import locked, make_observers, open_session_study, run_session
from cpt_search.records import COMPLETE, FAILED, ProgressEvent, TrialRecord
from cpt_search.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisRequest:
    """Where and how an analysis's trainings run.

    Attributes:
        task, budget: what every job trains.
        name: the analysis name (Optuna study and MLflow experiment ``cpt_search/NAME``).
        store_dir, tracking_uri: the store (default ``./cpt_search_runs``) and MLflow URI.
        tracking: record it in MLflow.
        concurrency: trainings at once.
        cpus_per_trial, gpus_per_trial: Ray resources (and torch threads) per training.
        data_dir: data root for the task's dataset.
        ray_address: join this Ray cluster instead of starting a local one.
        code_dirs: folders a ``module:attribute`` task resolves in (a search's space folder and
            ``code:`` folders, for confirming a user's task).
        out_dir: where the report files go (default ``STORE/reports/NAME``).
    """

    task: str
    budget: str
    name: str
    store_dir: str | Path | None = None
    tracking_uri: str | None = None
    tracking: bool = True
    concurrency: int = 2
    cpus_per_trial: int = 1
    gpus_per_trial: float = 0.0
    data_dir: str | Path | None = None
    ray_address: str | None = None
    code_dirs: tuple[str, ...] = ()
    out_dir: str | Path | None = None

    @property
    def store(self) -> Store:
        """The store the analysis lives in."""
        return Store.at(self.store_dir, self.tracking_uri)


@dataclass(frozen=True)
class AnalysisRun:
    """Finished (or interrupted) jobs of an analysis.

    Attributes:
        outcomes: one per job, in the order of the jobs (``error == NOT_RUN`` when never finished).
        store: the store; ``observers`` the session's observers (to hand the report to).
        parent_run_id: the MLflow parent run (``None`` without tracking).
        complete: whether every job finished.
    """

    outcomes: tuple[Outcome, ...]
    store: Store
    observers: Any
    parent_run_id: str | None
    complete: bool


def run_jobs(jobs: Sequence[Job], request: AnalysisRequest, *, kind: str, params: dict[str, Any],
             on_outcome: Callable[[Outcome], None] | None = None) -> AnalysisRun:
    """Train every job of an analysis (resuming an earlier call of the same name).

    Raises:
        UnknownNameError, DataError: unknown task, missing data (before anything starts).
        TrackingError: the store is locked, or was used for this name with other settings.
    """
    from cpt_search.data import prepare_dataset_root
    from cpt_search.search.environment import apply_environment
    from cpt_search.tasks.resolve import resolve_task

    apply_environment()
    task = resolve_task(request.task, where="--task", key="--task", search_dirs=request.code_dirs)
    data_root = str(prepare_dataset_root(task.dataset, request.data_dir))  # once, in the driver
    store = request.store.create()
    with locked(store, request.name):
        return _run_locked(jobs, request, task, data_root, store, kind, params, on_outcome)


def _run_locked(jobs, request, task, data_root, store, kind, params, on_outcome) -> AnalysisRun:
    import optuna

    from cpt_search.search.results import read_record
    from cpt_search.search.resume import open_storage
    from cpt_search.search.searcher import ScheduleSearch
    from cpt_search.search.trainable import make_trainable
    from cpt_search.search.tuner import TrialResources, run_tuner

    name = request.name
    higher_is_better = task.higher_is_better
    directions = ("maximize" if higher_is_better else "minimize", "minimize")
    storage = open_storage(store.optuna_url)
    sampler = optuna.samplers.RandomSampler(seed=0)  # never samples: every trial is enqueued
    study, _ = open_session_study(storage, name, directions, sampler,
                                  {"kind": kind, **{k: _plain(v) for k, v in params.items()}},
                                  what="analysis")
    by_key = {job.key: job for job in jobs}
    # Each job is enqueued once, by key: a rerun enqueues nothing, and a caller that grows its list
    # between calls (seed confirmation, round by round) adds only the new jobs.
    enqueued = {str((t.user_attrs.get("tags") or {}).get("job_key")) for t in study.get_trials(deepcopy=False)}
    for job in jobs:
        if job.key not in enqueued:
            study.enqueue_trial({}, user_attrs=job_attrs(job), skip_if_exists=False)
    observers, recorder = make_observers(store, tracking=request.tracking)
    info = SearchInfo(name=name, kind=kind, metric_name=task.metric_name,
                      test_metric_name=task.test_metric_name,
                      higher_is_better=higher_is_better, seeds=(), params=params)
    resources = TrialResources(cpus=float(request.cpus_per_trial), gpus=float(request.gpus_per_trial))
    trainable = make_trainable(task=request.task, budget=request.budget, seeds=(0,),
                               data_dir=data_root, threads=resources.threads,
                               metric_name=task.metric_name, device=resources.device,
                               code_dirs=request.code_dirs)

    def make_searcher(callback):
        return ScheduleSearch(None, metric_name=task.metric_name, higher_is_better=higher_is_better,
                              sampler=sampler, storage=storage, study_name=name,
                              on_reused=callback.reused, target_finished=len(jobs))

    def run(searcher, callback, remaining: int) -> None:
        run_tuner(trainable, searcher=searcher, callback=callback, resources=resources,
                  num_samples=remaining, concurrency=request.concurrency, ray_dir=store.ray_dir(name),
                  ray_address=request.ray_address)

    def on_progress(event: ProgressEvent) -> None:
        if on_outcome is None:
            return
        record = read_record(study, event.trial)
        job = by_key.get(record.tags.get("job_key", ""))
        if job is not None and record.status in (COMPLETE, FAILED):
            on_outcome(outcome_of(job, record, recorder))

    def on_resumed(records: list[TrialRecord]) -> None:
        # Jobs finished by an earlier call are reported first, then the session trains the rest.
        if on_outcome is None:
            return
        for record in records:
            job = by_key.get(record.tags.get("job_key", ""))
            if job is not None and record.status in (COMPLETE, FAILED):
                on_outcome(outcome_of(job, record, recorder))

    result = run_session(study, info, observers, target=len(jobs), higher_is_better=higher_is_better,
                         make_searcher=make_searcher, run=run, on_progress=on_progress,
                         say=lambda message: log.info("%s", message), on_resumed=on_resumed)
    outcomes = outcomes_of(jobs, result.records, recorder)
    return AnalysisRun(outcomes=tuple(outcomes), store=store, observers=observers,
                       parent_run_id=None if recorder is None else recorder.parent_run_id,
                       complete=not any(o.error == NOT_RUN for o in outcomes))


def job_attrs(job: Job) -> dict[str, Any]:
    """The user attrs an analysis job is enqueued with (its schedule, seed and labels)."""
    return {"schedule": job.schedule.to_dict(), "label": job.schedule.label, "baseline": False,
            "seeds": [job.seed], "tags": {"job_key": job.key, "row": job.row, "kind": job.kind,
                                          "seed": str(job.seed)},
            "job": job.to_dict()}


def outcome_of(job: Job, record: TrialRecord, recorder: Any = None) -> Outcome:
    """The :class:`Outcome` of a finished trial of ``job``."""
    run_id = None if recorder is None else recorder.run_id(record.number)
    if record.status == COMPLETE:
        return Outcome(job=job, result=dict(record.result), run_id=run_id)
    return Outcome(job=job, error=record.error or "failed", run_id=run_id)


def outcomes_of(jobs: Sequence[Job], records: Sequence[TrialRecord], recorder: Any = None) -> list[Outcome]:
    """One outcome per job from the study's records (a retried job: its finished trial)."""
    finished: dict[str, TrialRecord] = {}
    for record in records:
        key = record.tags.get("job_key")
        if key and record.status in (COMPLETE, FAILED) and key not in finished:
            finished[key] = record
    return [outcome_of(job, finished[job.key], recorder) if job.key in finished
            else Outcome(job=job, error=NOT_RUN) for job in jobs]


def _plain(value: Any) -> Any:
    """Settings as JSON-safe study attrs (tuples become lists, so a resumed run compares equal)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def finish_report(run: AnalysisRun, files: Sequence[Path], metrics: dict[str, float | None]) -> None:
    """Hand an analysis's report files and summary numbers to its observers."""
    run.observers.report_written(files, metrics)


@dataclass(frozen=True)
class AnalysisReport:
    """What an analysis command prints and where its files went.

    Attributes:
        report: the report record (:class:`~cpt_search.analysis.reproduce.ReproduceReport` or the
            critical-period one).
        document: the JSON document written beside the tables.
        out: the folder of the report files.
        store: the store of the runs.
    """

    report: Any
    document: dict[str, Any]
    out: Path
    store: Store


def _out_dir(request: AnalysisRequest, store: Store) -> Path:
    return Path(request.out_dir) if request.out_dir else store.root / "reports" / request.name


def _mlflow_block(request: AnalysisRequest, run: AnalysisRun) -> dict[str, Any] | None:
    if not request.tracking:
        return None
    return {"tracking_uri": run.store.tracking_uri, "experiment": f"cpt_search/{request.name}",
            "parent_run_id": run.parent_run_id}


def run_reproduce(request: AnalysisRequest, *, seeds: int, min_bits: int, max_bits: int,
                  grad_bits: int, num_cycles: int,
                  on_outcome: Callable[[Outcome], None] | None = None) -> AnalysisReport:
    """``cpt-search reproduce``: the ten presets and the static baselines over seeds, and the report."""
    from cpt_search.analysis.jobs import reproduce_jobs, static_row_name
    from cpt_search.analysis.plots import plot_reproduce
    from cpt_search.analysis.report_files import reproduce_markdown, write_reports
    from cpt_search.analysis.reproduce import build_report
    from cpt_search.tasks.resolve import resolve_task

    task = resolve_task(request.task, where="--task", key="--task", search_dirs=request.code_dirs)
    bounds = dict(min_bits=min_bits, max_bits=max_bits, grad_bits=grad_bits, num_cycles=num_cycles)
    jobs = reproduce_jobs(seeds, **bounds)
    params = {"task": request.task, "budget": request.budget, **bounds}
    run = run_jobs(jobs, request, kind="reproduce", params=params, on_outcome=on_outcome)
    report = build_report(list(run.outcomes), task=request.task, budget=request.budget,
                          metric_name=task.metric_name, higher_is_better=task.higher_is_better,
                          static_row=static_row_name(max_bits, grad_bits),
                          settings={**params, "seeds": seeds, "name": request.name},
                          test_metric_name=task.test_metric_name)
    markdown = reproduce_markdown(report, task=request.task, budget=request.budget, seeds=seeds,
                                  **bounds)
    files, document = write_reports(_out_dir(request, run.store), "reproduce", markdown,
                                    report.csv_table().csv(), report, plot_reproduce,
                                    mlflow=_mlflow_block(request, run), outcomes=run.outcomes)
    finish_report(run, files, {"spearman_rho": report.spearman.rho, "spearman_p": report.spearman.p,
                               "spearman_rho_presets": report.spearman_presets.rho,
                               "spearman_p_presets": report.spearman_presets.p})
    return AnalysisReport(report=report, document=document, out=files[0].parent, store=run.store)


def run_critical_period(request: AnalysisRequest, *, seeds: int, impair_bits: int, base_bits: int,
                        grad_bits: int, impair_fracs: Sequence[float], recovery_frac: float,
                        on_outcome: Callable[[Outcome], None] | None = None) -> AnalysisReport:
    """``cpt-search critical-period``: early vs late low-precision windows, and the report."""
    from cpt_search.analysis.critical import build_report
    from cpt_search.analysis.jobs import critical_period_jobs
    from cpt_search.analysis.plots import plot_critical
    from cpt_search.analysis.report_files import critical_markdown, write_reports
    from cpt_search.tasks.resolve import resolve_task

    task = resolve_task(request.task, where="--task", key="--task", search_dirs=request.code_dirs)
    jobs = critical_period_jobs(seeds, impair_bits=impair_bits, base_bits=base_bits,
                                grad_bits=grad_bits, impair_fracs=impair_fracs,
                                recovery_frac=recovery_frac)
    params = {"task": request.task, "budget": request.budget, "impair_bits": impair_bits,
              "bits": base_bits, "grad_bits": grad_bits, "recovery_frac": recovery_frac}
    run = run_jobs(jobs, request, kind="critical-period", params=params, on_outcome=on_outcome)
    fracs = list(impair_fracs)
    report = build_report(list(run.outcomes), task=request.task, budget=request.budget,
                          metric_name=task.metric_name, higher_is_better=task.higher_is_better,
                          impair_bits=impair_bits, base_bits=base_bits, grad_bits=grad_bits,
                          settings={**params, "seeds": seeds, "impair_fracs": fracs,
                                    "name": request.name},
                          test_metric_name=task.test_metric_name)
    markdown = critical_markdown(report, task=request.task, budget=request.budget,
                                 metric_name=task.metric_name, impair_bits=impair_bits,
                                 base_bits=base_bits, grad_bits=grad_bits,
                                 recovery_frac=recovery_frac, seeds=seeds)
    files, document = write_reports(_out_dir(request, run.store), "critical", markdown,
                                    report.table().csv(), report, plot_critical,
                                    mlflow=_mlflow_block(request, run), outcomes=run.outcomes)
    finish_report(run, files, {f"damage_{r.kind}_{r.window_frac:g}": r.damage
                               for r in report.rows if r.kind != "control"})
    return AnalysisReport(report=report, document=document, out=files[0].parent, store=run.store)
