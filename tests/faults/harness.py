"""What the fault tests share: the real CLI as a subprocess, its output line by line, the counts.

Faults are injected for real (SIGKILL of the driver, a tracking server stopped, a full disk), so a
test drives ``python -m cpt_search`` as a child process, waits for lines of its progress output and
acts on them. :class:`Subreaper` makes the test process adopt whatever a killed driver leaves
running (Linux ``PR_SET_CHILD_SUBREAPER``), so a leftover Ray process is seen and counted instead of
escaping to init.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import psutil
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>

# A tiny search: digits/mlp trains in a few seconds at budget tiny; no baselines, so the target is
# exactly `trials`.
def tiny_space(name: str, trials: int, *, concurrency: int = 2, seed: int = 5) -> dict:
    """A digits/mlp search space of ``trials`` sampled schedules (no baselines)."""
    return {
        "name": name, "task": "digits/mlp", "budget": "tiny", "trials": trials,
        "concurrency": concurrency, "include_baselines": False,
        "sampler": {"name": "random", "seed": seed},
        "schedule": {"profile": ["cosine", "linear", "exp", "rex"], "num_cycles": [1, 2, 3, 4],
                     "min_bits": {"low": 3, "high": 7}, "bits_span": {"low": 0, "high": 4}},
    }


def write_space(path: Path, space: dict) -> Path:
    """The space as a YAML file."""
    path.write_text(yaml.safe_dump(space), encoding="utf-8")
    return path


class Driver:
    """``python -m cpt_search ARGS`` as a child process, its merged output read by a thread.

    Every driver still running when its test ends is stopped by ``tests/faults/conftest.py``
    (:meth:`stop_all`), so a failed or timed-out test leaves no search running.
    """

    running: list["Driver"] = []

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
        full_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
        full_env.pop("RAY_ADDRESS", None)
        full_env.pop("MLFLOW_TRACKING_URI", None)
        full_env.update(env or {})
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "cpt_search", *args], cwd=REPO_ROOT,
                                        env=full_env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        Driver.running.append(self)

    @classmethod
    def stop_all(cls, grace_s: float = 30) -> None:
        """Ctrl-C every driver still running (it shuts its Ray down), SIGKILL after ``grace_s``."""
        for driver in cls.running:
            if driver.process.poll() is None:
                driver.process.send_signal(signal.SIGINT)
        for driver in cls.running:
            try:
                driver.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                driver.process.kill()
                driver.process.wait()
        cls.running.clear()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for(self, fragment: str, timeout_s: float) -> bool:
        """Read lines until one holds ``fragment`` (True) or the driver ends (False)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {fragment!r} in {timeout_s} s:\n{self.output}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)  # keep the end visible to the next wait
                return False
            self.lines.append(line)
            if fragment in line:
                return True

    def finish(self, timeout_s: float) -> int:
        """Wait for the driver to exit; returns its status, with every line read."""
        try:
            status = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the driver did not end within {timeout_s} s:\n{self.output}") from None
        self._reader.join(timeout=10)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return status

    def kill(self) -> None:
        """SIGKILL, the fault: no handler runs, nothing is flushed or shut down."""
        self.process.kill()

    @property
    def output(self) -> str:
        return "".join(self.lines)


@dataclass
class Subreaper:
    """Adopt the orphans of this process's descendants (Linux), and list the Ray ones still running.

    ``baseline`` holds Ray processes below this process before the fault test began (another test's
    in-process Ray), which are not the test's business.
    """

    baseline: set[tuple[int, float]] = field(default_factory=set)

    def __enter__(self) -> "Subreaper":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.baseline = {_key(p) for p in self._ray_below()}
        return self

    def __exit__(self, *exc: object) -> None:
        self.reap_zombies()
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

    @staticmethod
    def _ray_below() -> list[psutil.Process]:
        found = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue
                title = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "ray::" in title or "/ray/" in title or "raylet" in title or "gcs_server" in title:
                found.append(child)
        return found

    def ray_processes(self) -> list[psutil.Process]:
        """Ray processes running below this process now (adopted orphans included)."""
        return [p for p in self._ray_below() if _key(p) not in self.baseline]

    def reap_zombies(self) -> None:
        """Collect adopted children that have ended (never a ``subprocess.Popen`` child's status:
        those are waited for by their own object)."""
        for child in psutil.Process().children():
            try:
                if child.status() == psutil.STATUS_ZOMBIE and child.cmdline() == []:
                    os.waitpid(child.pid, os.WNOHANG)
            except (psutil.Error, ChildProcessError):
                pass


def _key(process: psutil.Process) -> tuple[int, float]:
    return process.pid, process.create_time()


def still_running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` that run (the same process, not a zombie)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            pass
    return alive


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Counts:
    """What the study and MLflow hold for one search, as the closing note reports it.

    Attributes:
        target: finished trials the search aimed for.
        optuna_finished: COMPLETE or FAIL trials in the study (interrupted ones excluded).
        optuna_interrupted: trials a kill cut off (FAIL, user attr ``interrupted``).
        optuna_unfinished: trials left RUNNING (must be none) and WAITING retries never needed.
        mlflow_runs: active child runs of the experiment.
        duplicates: child runs beyond the first for a trial number.
        lost: finished Optuna trials with no MLflow run, or a run whose values differ.
        deleted_runs: soft-deleted child runs (interrupted trials' runs).
        parents: parent runs of the experiment.
    """

    target: int
    optuna_finished: int
    optuna_interrupted: int
    optuna_unfinished: tuple[str, ...]
    mlflow_runs: int
    duplicates: int
    lost: int
    deleted_runs: int
    parents: int

    def line(self) -> str:
        return (f"target {self.target}: Optuna {self.optuna_finished} finished "
                f"({self.optuna_interrupted} interrupted, unfinished {list(self.optuna_unfinished)}), "
                f"MLflow {self.mlflow_runs} runs ({self.deleted_runs} deleted), {self.parents} parent(s), "
                f"duplicates {self.duplicates}, lost {self.lost}")


def count(store: Path, name: str, target: int, tracking_uri: str | None = None) -> Counts:
    """Count a search's trials in its Optuna study and its MLflow experiment."""
    import optuna
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    from cpt_search.search.resume import open_storage
    from cpt_search.search.results import load_records

    study = optuna.load_study(study_name=name, storage=open_storage(f"sqlite:///{store / 'optuna.db'}"))
    records = load_records(study)
    finished = {r.number: r for r in records if r.finished}
    client = MlflowClient(tracking_uri or f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"cpt_search/{name}")
    assert experiment is not None, "no MLflow experiment"
    runs = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'", max_results=5000)
    deleted = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'",
                                 run_view_type=ViewType.DELETED_ONLY, max_results=5000)
    parents = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'search'")
    by_number: dict[int, list] = {}
    for run in runs:
        by_number.setdefault(int(run.data.tags["optuna_trial_number"]), []).append(run)
    duplicates = sum(len(v) - 1 for v in by_number.values())
    lost = 0
    for number, record in finished.items():
        found = by_number.get(number)
        if not found:
            lost += 1
            continue
        run = found[0]
        if record.status == "complete":
            logged = run.data.metrics.get(study.user_attrs.get("metric_name", "val_accuracy"))
            if run.info.status != "FINISHED" or logged is None or abs(logged - record.values[0]) > 1e-9 \
                    or abs(run.data.metrics.get("bitops", -1) - record.values[1]) > 1e-6 * record.values[1]:
                lost += 1
        elif run.info.status != "FAILED":
            lost += 1
    lost += sum(1 for number in by_number if number not in finished)  # a run of no finished trial
    return Counts(target=target, optuna_finished=len(finished),
                  optuna_interrupted=sum(1 for r in records if r.status == "interrupted"),
                  optuna_unfinished=tuple(r.status for r in records
                                          if not r.finished and r.status != "interrupted"),
                  mlflow_runs=len(runs), duplicates=duplicates, lost=lost, deleted_runs=len(deleted),
                  parents=len(parents))


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 (SQLite backend, proxied artifacts under ``root``),
    started in its own process group so that stopping it stops its uvicorn workers too."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.uri = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout_s: float = 120) -> "MlflowServer":
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"server-{self.starts}.log", "w", encoding="utf-8")  # noqa: SIM115
        env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
             f"sqlite:///{self.root / 'mlflow.db'}", "--artifacts-destination", str(self.root / "artifacts"),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mlflow server exited: {(self.root / 'server-0.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"mlflow server not up on {self.uri} within {timeout_s} s")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server and its workers (SIGKILL: as a crash; SIGTERM: as an operator)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=60)
        for _ in range(100):  # the workers of the group go too
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.process = None
