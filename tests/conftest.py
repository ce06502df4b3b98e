"""Shared fixtures: where the offline datasets live, and a network-free environment for all tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (a failure there is reproducible, never a coin toss);
# local runs keep hypothesis' random exploration, which is how new edge cases are found.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parents[1]

# Nothing in the suite may reach off the machine: Ray and MLflow phone home by default (see cpt_search/search/environment.py).
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout (CI lays it there), or ``CPT_SEARCH_DATA``."""
    env = os.environ.get("CPT_SEARCH_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    candidate = REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The offline data folder; tests that need it are skipped when it is absent."""
    found = shared_data_dir()
    if found is None:
        pytest.skip("offline data not found: set CPT_SEARCH_DATA or lay ../shared/data beside the repo")
    return found


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> str:
    """Prepared datasets go to a per-session temporary cache, never the user's ``~/.cache``."""
    path = str(tmp_path_factory.mktemp("cpt_cache"))
    previous = os.environ.get("CPT_SEARCH_CACHE")
    os.environ["CPT_SEARCH_CACHE"] = path
    yield path
    if previous is None:
        os.environ.pop("CPT_SEARCH_CACHE", None)
    else:
        os.environ["CPT_SEARCH_CACHE"] = previous


@pytest.fixture(scope="module")
def ray_local():
    """One local, loopback-only Ray for the module (the runner reuses an initialised Ray)."""
    import ray

    from cpt_search.search.environment import apply_environment, ray_init_kwargs

    apply_environment(local=True)
    ray.init(address="local", num_cpus=2, **ray_init_kwargs(None))
    yield
    ray.shutdown()
