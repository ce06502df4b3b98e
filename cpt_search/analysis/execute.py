"""Running a fixed list of trainings in parallel with Ray Tune, recorded in MLflow.

A ``Tuner`` over ``tune.grid_search`` of the pending jobs (FIFO: no scheduler, nothing is stopped
early), at most ``concurrency`` at once, each with ``cpus_per_trial`` CPUs and as many torch threads.
The Ray session is the search's (:func:`cpt_search.search.environment.ray_session`: loopback only, no
dashboard, capped object store, no usage stats) and the trial reports are the search trainable's
(:func:`~cpt_search.search.trainable.epoch_report`, :func:`~cpt_search.search.trainable.failure_report`),
so the two paths behave alike. Datasets are prepared once here, in the driver, and workers get the
absolute data root. All MLflow writes happen in the driver (a Tune callback), never in a worker.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Sequence

from cpt_search.analysis.jobs import NOT_RUN, Job, Outcome
from cpt_search.analysis.recording import AnalysisRecorder
from cpt_search.tracking.store import Store

log = logging.getLogger(__name__)


def make_job_trainable(*, task: str, budget: str, data_dir: str | None, threads: int,
                       device: str | None = None) -> Callable[[dict], None]:
    """A Ray Tune function trainable that trains ``config["job"]`` (a :meth:`Job.to_dict`)."""

    def train_job(config: dict) -> None:
        from ray import tune

        from cpt_search.search.trainable import epoch_report, failure_report
        from cpt_search.training import TrialSpec, run_trial

        started = time.perf_counter()
        try:
            job = Job.from_dict(config["job"])
            spec = TrialSpec(task=task, budget=budget, schedule=job.schedule, seed=job.seed,
                             data_dir=data_dir, device=device, threads=threads)
            result = run_trial(spec, on_epoch=lambda record: tune.report(
                epoch_report(record, job.seed)))
        except Exception as error:  # noqa: BLE001 - every failure becomes a recorded FAILED run
            tune.report(failure_report(error, time.perf_counter() - started))
            return
        tune.report({"kind": "final", "result_json": json.dumps(result.to_dict(with_epochs=False))})

    return train_job


def _job_callback_class():
    from ray.tune import Callback

    class JobCallback(Callback):
        """Driver-side: MLflow runs for each job's start, epochs and end; collects outcomes."""

        def __init__(self, recorder: AnalysisRecorder,
                     on_outcome: Callable[[Outcome], None] | None) -> None:
            self.recorder = recorder
            self.on_outcome = on_outcome
            self.outcomes: dict[str, Outcome] = {}
            self._final: dict[str, dict] = {}
            self.tracking_errors = 0

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._guard(self.recorder.job_started, _job(trial))

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            job = _job(trial)
            if result.get("kind") == "epoch":
                self._guard(self.recorder.job_epoch, job, result)
            elif result.get("kind") in ("final", "failed"):
                self._final[job.key] = dict(result)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._finished(trial, None)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            try:
                error = trial.get_error()
            except Exception:  # noqa: BLE001 - the error file may be missing
                error = None
            text = str(error or "the Ray worker raised or died").strip().splitlines()
            self._finished(trial, "Ray trial error: " + (text[-1] if text else "unknown"))

        def _finished(self, trial: Any, ray_error: str | None) -> None:
            job = _job(trial)
            final = self._final.pop(job.key, {})
            traceback_text = None
            if final.get("kind") == "final":
                outcome = Outcome(job=job, result=json.loads(final["result_json"]))
            else:
                traceback_text = final.get("error_traceback")
                outcome = Outcome(job=job, error=final.get("error") or ray_error
                                  or "the trial ended without a final result")
            self._guard(self.recorder.job_finished, outcome, traceback_text)
            if outcome.ok:
                self._guard(self.recorder.job_schedule_plot, job, outcome.result["total_steps"])
            outcome = Outcome(job=job, result=outcome.result, error=outcome.error,
                              run_id=self.recorder.job_run_ids().get(job.key))
            self.outcomes[job.key] = outcome
            if self.on_outcome is not None:
                self.on_outcome(outcome)

        def _guard(self, method: Callable[..., Any], *args: Any) -> None:
            try:
                method(*args)
            except Exception:  # noqa: BLE001 - MLflow trouble must not stop the trainings
                self.tracking_errors += 1
                log.warning("MLflow logging failed in %s", method.__name__, exc_info=True)

    return JobCallback


def _job(trial: Any) -> Job:
    return Job.from_dict(trial.config["job"])


def run_jobs(jobs: Sequence[Job], *, task: str, budget: str, name: str, kind: str, store: Store,
             metric_name: str, params: dict[str, Any], concurrency: int = 2,
             cpus_per_trial: int = 1, gpus_per_trial: float = 0.0, data_dir: str | None = None,
             ray_address: str | None = None, device: str | None = None,
             on_outcome: Callable[[Outcome], None] | None = None,
             ) -> tuple[list[Outcome], AnalysisRecorder]:
    """Train every job (resuming: jobs finished by an earlier call are read back from MLflow).

    Returns the outcomes in the order of ``jobs`` and the (still open) recorder, whose parent run the
    caller finishes with the report's artifacts.

    Raises:
        UnknownNameError, DataError: unknown task, missing data (before anything starts).
        TrackingError: the MLflow store cannot be used.
    """
    from cpt_search.data import prepare

    data_root = str(prepare(task, data_dir))  # once, in the driver (STACK.md: concurrent prep races)
    store.create()
    recorder = AnalysisRecorder(store, name, kind=kind, metric_name=metric_name).open(params)
    outcomes: dict[str, Outcome] = {}
    pending: list[Job] = []
    for job in jobs:
        done = recorder.finished_outcome(job)
        if done is not None:
            outcomes[job.key] = done
            if on_outcome is not None:
                on_outcome(done)
        else:
            pending.append(job)
    if outcomes:
        log.info("%d of %d jobs already finished in %s; training the other %d", len(outcomes),
                 len(jobs), name, len(pending))
    if pending:
        outcomes.update(_tune(pending, recorder, task=task, budget=budget, name=name, kind=kind,
                              store=store, concurrency=concurrency, cpus_per_trial=cpus_per_trial,
                              gpus_per_trial=gpus_per_trial, data_dir=data_root,
                              ray_address=ray_address, device=device, on_outcome=on_outcome))
    ordered = [outcomes.get(job.key) or Outcome(job=job, error=NOT_RUN)
               for job in jobs]
    return ordered, recorder


def _tune(pending: Sequence[Job], recorder: AnalysisRecorder, *, task: str, budget: str, name: str,
          kind: str, store: Store, concurrency: int, cpus_per_trial: int, gpus_per_trial: float,
          data_dir: str, ray_address: str | None, device: str | None,
          on_outcome: Callable[[Outcome], None] | None) -> dict[str, Outcome]:
    from ray import tune

    from cpt_search.search.environment import ray_session

    callback = _job_callback_class()(recorder, on_outcome)
    trainable = make_job_trainable(task=task, budget=budget, data_dir=data_dir,
                                   threads=max(1, int(cpus_per_trial)), device=device)
    resources: dict[str, float] = {"cpu": cpus_per_trial}
    if gpus_per_trial:
        resources["gpu"] = gpus_per_trial
    with ray_session(ray_address):
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources),
            param_space={"job": tune.grid_search([job.to_dict() for job in pending])},
            tune_config=tune.TuneConfig(num_samples=1, max_concurrent_trials=concurrency,
                                        reuse_actors=True),
            run_config=tune.RunConfig(
                name=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}",
                storage_path=str(store.ray_dir(name)), callbacks=[callback], verbose=0,
                failure_config=tune.FailureConfig(max_failures=0)),
        )
        tuner.fit()
    if callback.tracking_errors:
        log.warning("%d MLflow logging calls failed; rerun the command to complete the records",
                    callback.tracking_errors)
    return callback.outcomes
