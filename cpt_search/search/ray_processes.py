"""The local Ray processes a driver starts, written down so the next driver of the search can reap them.

``ray.init`` on a fresh node starts the GCS server and the raylet with Linux's parent-death signal
(they die with the driver), but the raylet's own children do not: after a SIGKILL of the driver the
``ray::DashboardAgent`` and ``ray::RuntimeEnvAgent`` notice the raylet is gone, try to report it to
the dead GCS and linger, re-parented to init (measured with Ray 2.60: still there 50 s later; a
test killing the driver ten times piled them up). Nothing in the dead driver can clean up, so the
driver writes a ledger while its Ray runs and the next one reaps:

* :class:`ProcessLedger` records, every :data:`POLL_S` seconds while a local Ray runs, every Ray
  process descended from this driver as ``(pid, start time)`` into ``STORE/ray/NAME/`` (an atomic
  rename, so a kill mid-write leaves the previous ledger whole);
* :func:`reap` kills (SIGKILL) the ledger's processes that are still alive and are the same
  processes (same pid *and* the kernel's start time, so a recycled pid is never hit), then removes
  the ledger. The search's lock (:func:`cpt_search.orchestrate.session.locked`) guarantees that no
  other driver of the search is alive, so everything alive in the ledger is a leftover;
* a driver that ends normally shuts its Ray down and removes its ledger.

A kill within :data:`POLL_S` of Ray spawning a process (in the middle of ``ray.init``) leaves it out
of the ledger, so every Ray process also carries its owner in its environment: the driver sets
:data:`OWNER_ENV` to the ledger's path before ``ray.init``, Ray's processes inherit it, and a reap
also kills the processes whose ``/proc/PID/environ`` holds it (Ray's agents overwrite the start of
their environment with their title, hence both ways).

Only processes whose command line names Ray are recorded, so a reap never touches anything else the
driver started. Linux only (``/proc``); elsewhere the ledger records nothing.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

LEDGER_NAME = "local_ray_processes.json"
OWNER_ENV = "CPT_SEARCH_RAY_LEDGER"  # set in every Ray process a driver starts: its ledger's path
POLL_S = 0.25  # a kill right after Ray spawns a process misses it for at most this long
REAP_WAIT_S = 5.0  # how long a reap waits for SIGKILLed processes to go
_PROC = Path("/proc")
# Command-line fragments of the processes a local Ray node runs (binaries, Python entry points and
# the ``ray::NAME`` titles its agents and workers give themselves).
_RAY_MARKERS = ("ray::", "/ray/", "raylet", "gcs_server")


@dataclass(frozen=True)
class ProcessId:
    """One process, told apart from a later one that reuses its pid by its start time.

    Attributes:
        pid: the process id.
        start_ticks: its start time after boot, in clock ticks (``/proc/PID/stat`` field 22).
        title: its command line when recorded (for the log).
    """

    pid: int
    start_ticks: int
    title: str = ""


def _stat(pid: int) -> tuple[int, str, int] | None:
    """``(parent pid, state letter, start ticks)`` of ``pid``, ``None`` when it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def _cmdline(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def alive(process: ProcessId) -> bool:
    """Whether ``process`` still runs (a zombie has ended: it only waits for its parent)."""
    stat = _stat(process.pid)
    return stat is not None and stat[2] == process.start_ticks and stat[1] not in ("Z", "X")


def ray_descendants(root_pid: int | None = None) -> list[ProcessId]:
    """The Ray processes below ``root_pid`` (default: this process), at any depth."""
    root = os.getpid() if root_pid is None else root_pid
    if not _PROC.is_dir():
        return []
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] in ("Z", "X"):
            continue
        children.setdefault(stat[0], []).append(int(entry.name))
        starts[int(entry.name)] = stat[2]
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        title = _cmdline(pid)
        if any(marker in title for marker in _RAY_MARKERS):
            found.append(ProcessId(pid, starts[pid], title[:200]))
    return found


def owned_by(path: Path) -> list[ProcessId]:
    """Running processes (other than this one) whose environment names ``path`` as their ledger."""
    if not _PROC.is_dir():
        return []
    marker = f"{OWNER_ENV}={path}".encode() + b"\0"
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if marker in environ:
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] not in ("Z", "X"):
                found.append(ProcessId(int(entry.name), stat[2], _cmdline(int(entry.name))[:200]))
    return found


def read_ledger(path: Path) -> list[ProcessId]:
    """The processes a ledger holds (none when it is missing or unreadable)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [ProcessId(int(r["pid"]), int(r["start_ticks"]), str(r.get("title", ""))) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _write_ledger(path: Path, processes: list[ProcessId]) -> None:
    rows = [{"pid": p.pid, "start_ticks": p.start_ticks, "title": p.title} for p in processes]
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(rows), encoding="utf-8")
    os.replace(temporary, path)  # atomic: a reader (or a kill) sees the old ledger or the new one


def reap(path: Path, *, whose: str = "an earlier driver of this search") -> list[ProcessId]:
    """SIGKILL the ledger's processes that still run, wait for them, remove the ledger.

    Returns the processes killed. Call only while holding the search's lock; ``whose`` names their
    driver in the log line.
    """
    leftovers = [p for p in read_ledger(path) if alive(p)]
    recorded = {p.pid for p in leftovers}
    leftovers += [p for p in owned_by(path) if p.pid not in recorded]
    for process in leftovers:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to kill
            pass
    deadline = time.monotonic() + REAP_WAIT_S
    while any(alive(p) for p in leftovers) and time.monotonic() < deadline:
        time.sleep(0.05)
    if leftovers:
        log.info("reaped %d Ray process(es) left by %s: %s", len(leftovers), whose,
                 ", ".join(f"{p.pid} {p.title.split(' ')[0]}" for p in leftovers))
    for stale in (path, path.with_name(path.name + ".tmp")):
        try:
            stale.unlink()
        except OSError:
            pass
    return leftovers


class ProcessLedger:
    """Reap an earlier driver's leftovers, then record this driver's Ray processes until exit.

    Use as a context manager around a local ``ray.init`` ... ``ray.shutdown``. A ledger write that
    fails (a full disk) is logged once and retried at the next poll; the search does not stop for it.

    Args:
        path: the ledger file (``STORE/ray/NAME/local_ray_processes.json``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reaped: list[ProcessId] = []
        self._seen: dict[int, ProcessId] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        self._previous_owner: str | None = None

    def __enter__(self) -> "ProcessLedger":
        self.reaped = reap(self.path)
        self._previous_owner = os.environ.get(OWNER_ENV)
        os.environ[OWNER_ENV] = str(self.path)  # inherited by every process ray.init starts
        self._thread = threading.Thread(target=self._poll, name="cpt-search-ray-ledger", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        # Ray is shut down by now: whatever of ours still runs would be a leftover, so reap it too.
        self.record()
        if self._previous_owner is None:
            os.environ.pop(OWNER_ENV, None)
        else:
            os.environ[OWNER_ENV] = self._previous_owner
        reap(self.path, whose="this driver's Ray after its shutdown")

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            self.record()

    def record(self) -> None:
        """Add this driver's live Ray processes to the ledger (rewritten only when it changes)."""
        new = [p for p in ray_descendants() if p.pid not in self._seen]
        if not new:
            return
        self._seen.update({p.pid: p for p in new})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_ledger(self.path, [p for p in self._seen.values() if alive(p)])
        except OSError as error:
            for p in new:  # not written: try again at the next poll
                self._seen.pop(p.pid, None)
            if not self._warned:
                self._warned = True
                log.warning("cannot write the Ray process ledger %s (%s); a killed driver's Ray "
                            "processes would not be reaped", self.path, error)
