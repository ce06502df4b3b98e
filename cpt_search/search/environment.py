"""A Ray session for a search, loopback-only, and the environment its processes need.

Three things phone out by default (measured with Ray 2.60 and MLflow 3.17): Ray probes an external
address for its node IP and reports usage stats, Ray 2.60 writes an auth token into the home
directory, MLflow fetches a telemetry config. A local session therefore binds to 127.0.0.1, has no
dashboard, caps its shared-memory object store and runs with the variables in :data:`OFFLINE_ENV`.
``--ray-address`` (or ``RAY_ADDRESS``) joins an existing cluster instead, which is then the user's
to configure.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

log = logging.getLogger(__name__)

OFFLINE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # Tune's console tables would interleave with the CLI's own progress rows; with the classic
    # reporter, verbose=0 prints nothing.
    "RAY_AIR_NEW_OUTPUT": "0",
    # Against a tracking server MLflow prints a "View run ... at URL" line per finished run into the
    # CLI's progress table.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
# Ray 2.60 on Linux ignores ``_node_ip_address="127.0.0.1"``: ``resolve_ip_for_localhost`` swaps a
# loopback address for one found by probing the network, and every Ray process then listens on all
# interfaces. With clusters "disabled" (the switch Ray uses on macOS/Windows), a local node stays
# on 127.0.0.1. Only for a local session: joining a cluster needs a reachable address.
LOCAL_ONLY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# Epoch reports carry no objective keys on purpose (see cpt_search.search.trainable); Tune would
# otherwise insist that every report contains them.
REQUIRED_ENV = {"TUNE_DISABLE_STRICT_METRIC_CHECKING": "1"}
OBJECT_STORE_BYTES = 256 * 2**20  # trials exchange only small dicts; Ray's default is 30 % of RAM
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding cpt_search/


def apply_environment(*, local: bool = False) -> None:
    """Set the variables above in this process (inherited by a local Ray's workers).

    ``local=True`` also keeps a Ray started here on loopback, even when ``ray`` was imported
    before this call (its constant is read at import, so it is set on the module too).
    """
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.update(REQUIRED_ENV)
    if local:
        os.environ.update(LOCAL_ONLY_ENV)
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False


def worker_env_vars() -> dict[str, str]:
    """Variables every trial worker gets: the offline settings and an import path to this package
    (so a source checkout works without ``pip install -e .``)."""
    python_path = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    local = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") == "0"
    return {**OFFLINE_ENV, **(LOCAL_ONLY_ENV if local else {}), "PYTHONPATH": python_path}


def ray_init_kwargs(address: str | None = None, *, log_to_driver: bool = False,
                    runtime_env: Mapping[str, Any] | None = None) -> dict:
    """Keyword arguments of ``ray.init`` for a local loopback session, or to join ``address``.

    ``runtime_env`` adds entries to the job's runtime environment (the shipped code's
    ``working_dir``, see :mod:`cpt_search.search.shipping`).
    """
    common = {"runtime_env": {**dict(runtime_env or {}), "env_vars": worker_env_vars()},
              "log_to_driver": log_to_driver,
              "logging_level": logging.INFO if log_to_driver else logging.WARNING}
    if address:
        return {"address": address, **common}
    return {"_node_ip_address": "127.0.0.1", "include_dashboard": False,
            "object_store_memory": OBJECT_STORE_BYTES, **common}


@contextlib.contextmanager
def ray_session(address: str | None = None, *, log_to_driver: bool = False,
                ledger: Path | None = None, runtime_env: Mapping[str, Any] | None = None) -> Iterator[bool]:
    """Use the Ray already initialised in this process, or start (and afterwards stop) one.

    Yields whether this call started Ray. ``address`` (or ``$RAY_ADDRESS``) joins a cluster;
    ``runtime_env`` is added to the job's runtime environment when this call starts Ray (an already
    initialised Ray keeps its own). ``ledger``: for a local Ray, first reap what an earlier, killed
    driver of the same search left running, then record this one's Ray processes there
    (:class:`~cpt_search.search.ray_processes.ProcessLedger`).
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    apply_environment(local=address is None)
    import ray

    if ray.is_initialized():
        if runtime_env:
            log.warning("Ray was initialised before the search: its workers get no shipped code "
                        "(they import the task from the folders on this machine)")
        yield False
        return
    kwargs = ray_init_kwargs(address, log_to_driver=log_to_driver, runtime_env=runtime_env)
    if address is None:
        # ray.init(address=None) would itself look at RAY_ADDRESS; make "start a local Ray" explicit.
        kwargs["address"] = "local"
    log.info("starting Ray (%s)", "joining " + address if address else "local, 127.0.0.1")
    with contextlib.ExitStack() as stack:
        if ledger is not None and address is None:
            from cpt_search.search.ray_processes import ProcessLedger

            stack.enter_context(ProcessLedger(ledger))
        ray.init(**kwargs)
        try:
            yield True
        finally:
            ray.shutdown()
