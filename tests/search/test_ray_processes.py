"""The Ray process ledger: what it records, and that a reap kills exactly the recorded processes.

Real processes stand in for Ray's (a sleeping Python whose command line carries a ``ray::`` title,
as Ray's agents and workers do); the end-to-end check with a real Ray and SIGKILLed drivers is
``tests/faults/test_driver_killed.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from cpt_search.search.ray_processes import ProcessId, ProcessLedger, alive, ray_descendants, read_ledger, reap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _spawn(title: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", title])


def test_ledger_records_ray_descendants_only_and_reap_kills_them(tmp_path: Path) -> None:
    ledger = tmp_path / "ray" / "demo" / "ledger.json"
    ray_like, other = _spawn("ray::DashboardAgent"), _spawn("not-a-ray-process")
    try:
        found = {p.pid for p in ray_descendants()}
        assert ray_like.pid in found and other.pid not in found
        with ProcessLedger(ledger) as book:
            book.record()
            recorded = read_ledger(ledger)
            assert [p.pid for p in recorded] == [ray_like.pid]
            # What a SIGKILLed driver leaves: the ledger stays; the next start reaps from it.
            killed = reap(ledger)
            assert [p.pid for p in killed] == [ray_like.pid] and not ledger.exists()
        assert ray_like.wait(timeout=10) == -9
        assert other.poll() is None  # never recorded, never touched
    finally:
        for process in (ray_like, other):
            process.kill()
            process.wait()


def test_reap_spares_a_recycled_pid(tmp_path: Path) -> None:
    """A pid in the ledger that now belongs to another process (other start time) is not killed."""
    process = _spawn("ray::IDLE")
    try:
        time.sleep(0.1)
        [me] = [p for p in ray_descendants() if p.pid == process.pid]
        impostor = ProcessId(me.pid, me.start_ticks - 1, me.title)
        assert alive(me) and not alive(impostor)
        ledger = tmp_path / "ledger.json"
        ledger.write_text(f'[{{"pid": {me.pid}, "start_ticks": {me.start_ticks - 1}}}]', encoding="utf-8")
        assert reap(ledger) == []
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_unreadable_ledger_reaps_nothing(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text("{half a json", encoding="utf-8")  # a kill mid-write cannot do this (rename), a disk error could
    assert reap(ledger) == [] and not ledger.exists()


def test_reap_finds_an_unrecorded_process_by_its_owner_variable(tmp_path: Path) -> None:
    """A process spawned after the last ledger write (a kill in the middle of ray.init) still
    carries its owner in its environment; a process of another search's ledger is spared."""
    import os

    from cpt_search.search.ray_processes import OWNER_ENV

    ledger = tmp_path / "ray" / "mine" / "ledger.json"
    theirs = tmp_path / "ray" / "theirs" / "ledger.json"
    mine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            env=dict(os.environ, **{OWNER_ENV: str(ledger)}))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             env=dict(os.environ, **{OWNER_ENV: str(theirs)}))
    try:
        time.sleep(0.1)
        assert [p.pid for p in reap(ledger)] == [mine.pid]  # no ledger file at all
        assert mine.wait(timeout=10) == -9 and other.poll() is None
    finally:
        for process in (mine, other):
            process.kill()
            process.wait()


def test_ledger_sets_and_restores_the_owner_variable(tmp_path: Path) -> None:
    import os

    from cpt_search.search.ray_processes import OWNER_ENV

    ledger = tmp_path / "ledger.json"
    assert OWNER_ENV not in os.environ
    with ProcessLedger(ledger):
        assert os.environ[OWNER_ENV] == str(ledger)
    assert OWNER_ENV not in os.environ
