"""Helpers of tests/services: the project's services (``scripts/services.sh up``) as the tests see them.

The tests run inside the services' network namespace (``scripts/services.sh exec pytest ...``, as
``.ci/run`` does) and are skipped, with the reason, when the services are not up or the test
process is outside that namespace. The top-level conftest moves the services' variables aside
(``CPT_SEARCH_TEST_SERVICE_*``) so that no other test uses them; here they are read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIX = "CPT_SEARCH_TEST_SERVICE_"  # as in tests/conftest.py, which moves the variables aside

SERVICES_SH = REPO_ROOT / "scripts" / "services.sh"
UP_HINT = "scripts/services.sh up && scripts/services.sh exec .venv/bin/python -m pytest -m services tests/services"


@dataclass(frozen=True)
class Services:
    """The addresses ``scripts/services.sh up`` printed, and how to run commands against them."""

    ray_address: str
    tracking_uri: str
    optuna_storage: str
    netns_pid: int
    state_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A subprocess environment that uses the services (and this checkout's code)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_PREFIX)}
        env.update(RAY_ADDRESS=self.ray_address, MLFLOW_TRACKING_URI=self.tracking_uri,
                   CPT_SEARCH_OPTUNA_STORAGE=self.optuna_storage, CPT_SEARCH_SERVICES_DIR=str(self.state_dir),
                   PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
        env.update(extra)
        return env

    def cpt(self, *args: str, timeout: float = 600, **popen: Any) -> subprocess.CompletedProcess:
        """``cpt-search ARGS`` against the services (completed)."""
        return subprocess.run([sys.executable, "-m", "cpt_search", *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout, cwd=popen.pop("cwd", None), **popen)

    def cpt_background(self, *args: str, log: Path) -> subprocess.Popen:
        """``cpt-search ARGS`` started in the background, output to ``log``."""
        handle = log.open("w")
        return subprocess.Popen([sys.executable, "-m", "cpt_search", *args], env=self.env(), stdout=handle,
                                stderr=subprocess.STDOUT, text=True)

    def script(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """``scripts/services.sh ARGS`` on these services."""
        return subprocess.run(["bash", str(SERVICES_SH), *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout)

    def pids(self, name: str) -> list[int]:
        """The pids the script recorded for a service (``postgres.pid``, ``ray-worker.pids``...)."""
        path = self.state_dir / "pids" / name
        return [int(p) for p in path.read_text().split()] if path.is_file() else []


def unique_name(prefix: str) -> str:
    """A search name no earlier run used (the PostgreSQL study and the MLflow server outlive tests)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_space(folder: Path, name: str, *, trials: int, concurrency: int = 2, budget: str = "tiny",
                seed: int = 3) -> Path:
    """A tiny search (digits MLP) over cycled schedules, without baselines."""
    space = {"name": name, "task": "digits/mlp", "budget": budget, "trials": trials, "concurrency": concurrency,
             "include_baselines": False, "sampler": {"name": "random", "seed": seed},
             "schedule": {"profile": ["cosine", "linear"], "num_cycles": [2, 3],
                          "min_bits": {"low": 3, "high": 6}, "bits_span": {"low": 0, "high": 2}}}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space), encoding="utf-8")
    return path


def study_trials(services: Services, name: str) -> list:
    import optuna

    from cpt_search.search.resume import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(services.optuna_storage)).get_trials()


def mlflow_runs(services: Services, name: str) -> tuple[Any, list]:
    """``(parent run, child runs)`` of search ``name`` on the tracking server."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(services.tracking_uri)
    experiment = client.get_experiment_by_name(f"cpt_search/{name}")
    assert experiment is not None, f"no MLflow experiment for {name}"
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("cpt_search_role") == "search"]
    children = [r for r in runs if r.data.tags.get("cpt_search_role") == "trial"]
    assert len(parents) == 1, [r.data.tags for r in runs]
    return parents[0], children


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
