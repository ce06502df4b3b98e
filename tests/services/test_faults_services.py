"""Faults injected into the real services (issue 13, faults 2 and 4).

2. **Worker node killed** (SIGKILL of the node's raylet, agents and trial workers) while a trial runs on
   it: Ray retries the trial (``FailureConfig(max_failures=...)``), it completes once, the search
   finishes, and MLflow shows one run for it, tagged ``ray_retries=1``.
4. **PostgreSQL restarted** mid-search (it holds both the Optuna study and the MLflow server's
   store): nothing is lost, every trial is in Optuna and on the server once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .support import Services, mlflow_runs, study_trials, unique_name, wait_for, write_space

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _trial_worker_on(raylet: int) -> int | None:
    """The pid of a Tune trial actor (``ray::ImplicitFunc``) that the given raylet started, if one runs."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if title.startswith(b"ray::ImplicitFunc") and _ppid(int(entry)) == raylet:
            return int(entry)
    return None


def _gone(pid: int) -> bool:
    """Exited (or a zombie): SIGKILL takes a moment to tear down a process holding torch."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _raylet(services: Services, role: str) -> int:
    for pid in services.pids(f"ray-{role}.pids"):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "raylet":
                return pid
        except OSError:
            continue
    raise AssertionError(f"no raylet among the pids of ray-{role}")


def _finish(process, log: Path, timeout_s: float = 600) -> str:
    try:
        process.wait(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert process.returncode == 0, text[-4000:]
    return text


def test_a_worker_node_killed_under_a_trial_retries_it_once(services: Services, tmp_path: Path) -> None:
    name = unique_name("nodekill")
    space = write_space(tmp_path, name, trials=3, concurrency=2, seed=5)
    log = tmp_path / "run.log"
    raylet = _raylet(services, "worker")
    process = services.cpt_background("run", str(space), "--store", str(tmp_path / "store"),
                                      "--ray-address", services.ray_address, "--tracking-uri",
                                      services.tracking_uri, log=log)
    try:
        victim = wait_for(lambda: _trial_worker_on(raylet), 240, "a trial on the worker node", poll_s=0.1)
        time.sleep(3)  # well into the trial (imports done, training), not at its start
        assert _trial_worker_on(raylet) == victim, "the trial on the worker ended before the kill"
        killed = services.script("kill", "ray-worker")
        assert killed.returncode == 0, killed.stderr
        wait_for(lambda: _gone(victim), 10, f"the killed trial worker {victim} to exit")
        # The node comes back (a replacement machine); the retried trial may run on either node.
        started = services.script("start", "ray-worker")
        assert started.returncode == 0, started.stderr
        text = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
        if not services.pids("ray-worker.pids"):
            services.script("start", "ray-worker")
    assert "3/3 trials (3 complete" in text, text[-3000:]

    # Optuna: three trials, all complete once; exactly one was retried once.
    trials = study_trials(services, name)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    retried = [t.number for t in trials if t.user_attrs.get("ray_retries")]
    assert len(retried) == 1 and trials[retried[0]].user_attrs["ray_retries"] == 1, \
        [t.user_attrs.get("ray_retries") for t in trials]

    # MLflow: one run per trial, all finished; the retried trial's run is tagged, no other is.
    parent, children = mlflow_runs(services, name)
    numbers = sorted(int(r.data.tags["optuna_trial_number"]) for r in children)
    assert numbers == [0, 1, 2] and parent.info.status == "FINISHED"
    assert all(r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics for r in children)
    tagged = [int(r.data.tags["optuna_trial_number"]) for r in children if r.data.tags.get("ray_retries")]
    assert tagged == retried
    assert [r.data.tags["ray_retries"] for r in children if r.data.tags.get("ray_retries")] == ["1"]


def test_postgresql_restarted_mid_search_loses_nothing(services: Services, tmp_path: Path) -> None:
    name = unique_name("pgrestart")
    space = write_space(tmp_path, name, trials=4, concurrency=2, seed=11)
    log = tmp_path / "run.log"
    postmaster = services.pids("postgres.pid")
    process = services.cpt_background("run", str(space), "--store", str(tmp_path / "store"),
                                      "--ray-address", services.ray_address, "--tracking-uri",
                                      services.tracking_uri, log=log)
    try:
        def one_complete() -> bool:
            try:
                return any(t.state.name == "COMPLETE" for t in study_trials(services, name))
            except KeyError:  # the study is not created yet
                return False

        wait_for(one_complete, 300, "the first complete trial", poll_s=1.0)
        assert process.poll() is None, "the search ended before the restart"
        restarted = services.script("restart", "postgres")
        assert restarted.returncode == 0, restarted.stderr
        assert services.pids("postgres.pid") != postmaster  # a new server process, really restarted
        text = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
    assert "4/4 trials (4 complete" in text, text[-3000:]

    trials = study_trials(services, name)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert all(t.user_attrs.get("result") and len(t.values) == 2 for t in trials)
    parent, children = mlflow_runs(services, name)
    assert parent.info.status == "FINISHED"
    assert sorted(int(r.data.tags["optuna_trial_number"]) for r in children) == [0, 1, 2, 3]
    assert all(r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics for r in children)
    hypervolume = parent.data.metrics.get("hypervolume")
    assert hypervolume is not None and hypervolume > 0


def test_an_optuna_call_waits_for_postgresql_to_come_back(services: Services) -> None:
    """The storage layer itself, deterministically: a call made while PostgreSQL is stopped returns
    once it is started again (cpt_search.search.rdb), instead of failing the search."""
    import threading

    from cpt_search.search.resume import open_storage

    storage = open_storage(services.optuna_storage)
    storage.get_all_studies()  # a pooled connection, which the stop closes
    stopped = services.script("stop", "postgres")
    assert stopped.returncode == 0, stopped.stderr
    outcome: dict = {}

    def call() -> None:
        started = time.monotonic()
        try:
            outcome["studies"] = storage.get_all_studies()
        except Exception as error:  # noqa: BLE001 - reported below
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=call)
    try:
        worker.start()
        time.sleep(3)
        assert worker.is_alive(), f"the call did not wait for the server: {outcome}"
    finally:
        started = services.script("start", "postgres")
    assert started.returncode == 0, started.stderr
    worker.join(timeout=60)
    assert "error" not in outcome and isinstance(outcome.get("studies"), list), outcome
    assert outcome["seconds"] >= 3
