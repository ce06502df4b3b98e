"""Running a search's remaining trials with a Ray Tune ``Tuner`` (the Ray adapter; no MLflow here).

FIFO scheduling (no Ray Tune scheduler supports several objectives), ``max_concurrent_trials``,
per-trial resources, failures recorded and skipped (``max_failures=0``: a failed trial is a result,
told to Optuna as FAIL), one Tune session folder per call under the search's Ray directory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cpt_search.search.callback import SearchCallback
from cpt_search.search.environment import ray_session

log = logging.getLogger(__name__)


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
              say: Callable[[str], None] = lambda message: None,
              runtime_env: dict[str, Any] | None = None) -> None:
    """Run up to ``num_samples`` trials of ``searcher`` on a local (or the given) Ray.

    ``runtime_env`` joins the job's runtime environment when Ray is started here (shipped code).
    """
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler

    with ray_session(ray_address, log_to_driver=ray_logs, runtime_env=runtime_env) as started_ray:
        say(f"running {num_samples} trial(s), {concurrency} at once"
            + (" on a local Ray (127.0.0.1)" if started_ray else " on the connected Ray"))
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources.ray()),
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=FIFOScheduler(),
                                        num_samples=num_samples, max_concurrent_trials=concurrency,
                                        reuse_actors=False, trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=_session_name(ray_dir), storage_path=str(ray_dir), callbacks=[callback],
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False), verbose=0),
        )
        tuner.fit()


def _trial_name(trial: Any) -> str:
    """``trial-0007``: the Optuna trial number (Tune's default puts the whole config in the name)."""
    info = (trial.config or {}).get("cpt") or {}
    number = info.get("optuna_trial_number")
    return f"trial-{number:04d}" if isinstance(number, int) else f"trial-{trial.trial_id}"


def _session_name(ray_dir: Path) -> str:
    existing = [p for p in ray_dir.glob("session-*") if p.is_dir()] if ray_dir.exists() else []
    return f"session-{len(existing) + 1:03d}"
