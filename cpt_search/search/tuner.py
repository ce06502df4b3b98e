"""Running a search's remaining trials with a Ray Tune ``Tuner`` (the Ray adapter; no MLflow here).

FIFO scheduling (no Ray Tune scheduler supports several objectives), or a space's early-stopping
rule as a FIFO scheduler that stops trials at rungs (:mod:`cpt_search.search.scheduler`),
``max_concurrent_trials``, per-trial resources, one Tune session folder per call under the search's
Ray directory.

Failures: a trial whose training raises is a result (the trainable reports it and the searcher tells
Optuna FAIL), never retried. A trial whose Ray worker itself is lost (its node died, the OOM
killer, a crash of the process) is retried by Ray from the start, up to :data:`LOST_WORKER_RETRIES`
times (``FailureConfig(max_failures=...)``; the trial keeps its Optuna number and its MLflow run,
tagged ``ray_retries``), and told FAIL only after the last retry.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cpt_search.search.callback import SearchCallback
from cpt_search.search.environment import ray_session

log = logging.getLogger(__name__)

# Retries of a trial whose worker process was lost. Application errors never reach Ray (the
# trainable catches them), so this only counts lost processes: a node that died is retried on the
# nodes left; a worker that crashes every time costs this many extra starts before its FAIL.
LOST_WORKER_RETRIES = 2


@dataclass(frozen=True)
class TrialResources:
    """What each trial gets from Ray, and the torch threads it then uses.

    Attributes:
        cpus: CPUs reserved per trial (torch runs ``max(1, int(cpus))`` threads).
        gpus: GPUs per trial (fractions allowed); a trial trains on CUDA when it has one.
    """

    cpus: float = 1.0
    gpus: float = 0.0

    @property
    def threads(self) -> int:
        """torch threads of one trial."""
        return max(1, int(self.cpus))

    @property
    def device(self) -> str:
        """The torch device trials train on."""
        return "cuda" if self.gpus > 0 else "cpu"

    def ray(self) -> dict[str, float]:
        """The ``tune.with_resources`` request."""
        return {"cpu": self.cpus, "gpu": self.gpus} if self.gpus > 0 else {"cpu": self.cpus}


def run_tuner(trainable: Callable[[dict], None], *, searcher: Any, callback: SearchCallback,
              resources: TrialResources, num_samples: int, concurrency: int, ray_dir: Path,
              ray_address: str | None = None, ray_logs: bool = False,
              max_retries: int = LOST_WORKER_RETRIES,
              say: Callable[[str], None] = lambda message: None, scheduler: Any = None,
              runtime_env: dict[str, Any] | None = None) -> None:
    """Run up to ``num_samples`` trials of ``searcher`` on a local (or the given) Ray; a trial whose
    worker is lost is started again up to ``max_retries`` times (``scheduler``: a Ray
    ``TrialScheduler``, default FIFO; ``runtime_env`` joins the job's runtime environment when Ray
    is started here: shipped code)."""
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler

    from cpt_search.search.ray_processes import LEDGER_NAME

    with ray_session(ray_address, log_to_driver=ray_logs, ledger=ray_dir / LEDGER_NAME,
                     runtime_env=runtime_env) as started_ray:
        joined = bool(ray_address or os.environ.get("RAY_ADDRESS"))
        say(f"running {num_samples} trial(s), {concurrency} at once"
            + (" on a local Ray (127.0.0.1)" if started_ray and not joined else " on the connected Ray"))
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources.ray()),
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler or FIFOScheduler(),
                                        num_samples=num_samples, max_concurrent_trials=concurrency,
                                        reuse_actors=reuse_workers(scheduler),
                                        trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=_session_name(ray_dir), storage_path=str(ray_dir), callbacks=[callback],
                stop=_store_failure_stopper(searcher),
                failure_config=tune.FailureConfig(max_failures=max_retries, fail_fast=False), verbose=0),
        )
        tuner.fit()


def reuse_workers(scheduler: Any) -> bool:
    """Whether a finished trial's Ray worker process trains the next trial (``reuse_actors``).

    A fresh worker per trial costs seconds before the first step: Ray starts the process, it
    imports Ray Tune, torch and the task (PyG for the GCN tasks) and reads the dataset, which a
    reused worker keeps (:mod:`cpt_search.data.memo`); docs/performance.md, "Per-trial overhead".
    In Ray 2.60 a function trainable is reused through ``FunctionTrainable.reset_config``: it waits
    up to ``TUNE_FUNCTION_THREAD_TIMEOUT_S`` (2 s) for the last trial's training thread to end,
    and fails the *next* trial if it has not. Without early stopping every trial's function has
    returned when the trial ends (complete, or ``kind="failed"`` reported by the trainable), so
    reuse is safe; a lost worker is never reused (Ray caches only live, started actors), so the
    retries of :data:`LOST_WORKER_RETRIES` start fresh ones. With an early-stopping rule a trial
    stopped at a rung keeps training in its thread until its next report (Ray's function
    sessions report asynchronously), which could outlast that wait; a stopped trial's worker is
    then ended instead, as before.
    """
    return scheduler is None


def _store_failure_stopper(searcher: Any) -> Any:
    """A Tune stopper that stops every trial once the searcher cannot write the study
    (``store_error``, a full disk): their results could not be told, and the resume re-runs them."""
    from ray.tune.stopper import Stopper

    class StoreFailureStopper(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return self.stop_all()

        def stop_all(self) -> bool:
            return getattr(searcher, "store_error", None) is not None

    return StoreFailureStopper()


def _trial_name(trial: Any) -> str:
    """``trial-0007``: the Optuna trial number (Tune's default puts the whole config in the name)."""
    info = (trial.config or {}).get("cpt") or {}
    number = info.get("optuna_trial_number")
    return f"trial-{number:04d}" if isinstance(number, int) else f"trial-{trial.trial_id}"


def _session_name(ray_dir: Path) -> str:
    existing = [p for p in ray_dir.glob("session-*") if p.is_dir()] if ray_dir.exists() else []
    return f"session-{len(existing) + 1:03d}"
