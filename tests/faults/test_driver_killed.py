"""Fault 1: the driver is SIGKILLed at ten seeded random points of one search and resumed each time.

The points are drawn from the driver's own milestones (just launched, data prepared, Ray up, a trial
just finished) plus a random delay, so the kills land in imports, Ray's start-up, training and the
bookkeeping after a trial. Afterwards the study and MLflow must hold exactly the target number of
finished trials, none lost and none twice, and no Ray process may be left running: the test process
adopts the orphans of every killed driver (a subreaper) and checks that the next driver reaped them.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.faults.harness import Driver, Subreaper, count, still_running, tiny_space, write_space

# Eleven driver starts (imports, a local Ray) and 20 tiny trainings: about 2 minutes on 2 idle
# cores, far more on a loaded machine; the limit only guards against a hang.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(2400),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (/proc, prctl)")]

KILLS = 10
TARGET = 20
SEED = 13
# Where a kill lands: after which line of the driver's output (None: right after launch), then how
# long after it, in seconds. Most kills land in the search itself (Ray up, trials running or just
# finished); the order is a seeded shuffle.
MILESTONES = (None, "preparing data", "at once", "at once", "at once", "at once",
              " complete ", " complete ", " complete ", " complete ")
MAX_DELAY_S = 1.5


def test_ten_sigkills_then_resume_leave_exactly_the_target(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    space = write_space(tmp_path / "killed.yaml", tiny_space("killed", TARGET))
    store = tmp_path / "store"
    args = ["run", str(space), "--store", str(store)]
    orphans_seen: list[psutil.Process] = []  # Ray processes a killed driver left running
    pending: list[psutil.Process] = []  # orphans the next driver has not yet had the chance to reap
    survived: list[str] = []  # orphans still running after a later driver's Ray was up
    kills = []
    titles: dict[int, str] = {}
    with Subreaper() as reaper:
        milestones = list(MILESTONES)
        rng.shuffle(milestones)
        for milestone in milestones[:KILLS]:
            delay_s = rng.uniform(0.0, MAX_DELAY_S)
            driver = Driver(args)
            reached = True if milestone is None else driver.wait_for(milestone, timeout_s=240)
            assert reached, f"the driver ended before {milestone!r}:\n{driver.output}"
            if milestone in ("at once", " complete "):  # its Ray is up: the earlier orphans were reaped
                survived += [titles[p.pid] for p in still_running(pending)]
                pending = []
            time.sleep(delay_s)
            driver.kill()
            assert driver.finish(timeout_s=60) == -9
            kills.append((milestone, round(delay_s, 2)))
            reaper.reap_zombies()
            left = [p for p in reaper.ray_processes() if p not in orphans_seen]
            ledger = {r["pid"] for r in _ledger(store)}
            for process in left:
                titles[process.pid] = (f"{' '.join(process.cmdline())[:60]} "
                                       f"({'in' if process.pid in ledger else 'not in'} the ledger, "
                                       f"kill {len(kills)})")
            orphans_seen += left
            pending += left
        final = Driver(args)
        assert final.wait_for("at once", timeout_s=240), final.output
        survived += [titles[p.pid] for p in still_running(pending)]
        status = final.finish(timeout_s=400)
        assert status == 0, final.output
        reaper.reap_zombies()
        left_after = [f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in reaper.ray_processes()]

    counts = count(store, "killed", TARGET)
    print(f"\nfault 1: kills at {kills}; {len(orphans_seen)} orphaned Ray processes seen, "
          f"{len(survived)} survived the next start, {len(left_after)} left after the end; {counts.line()}")
    assert f"search 'killed' finished: {TARGET}/{TARGET} trials" in final.output, final.output
    assert counts.optuna_finished == counts.mlflow_runs == TARGET, counts.line()
    assert counts.duplicates == 0 and counts.lost == 0, counts.line()
    assert "running" not in counts.optuna_unfinished, counts.line()
    assert counts.parents == 1, counts.line()
    assert counts.deleted_runs <= counts.optuna_interrupted, counts.line()
    assert not survived, f"orphans of a killed driver still ran after the next one started Ray: {survived}"
    assert not left_after, f"Ray processes left after the search ended: {left_after}"


def _ledger(store: Path) -> list[dict]:
    path = store / "ray" / "killed" / "local_ray_processes.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
