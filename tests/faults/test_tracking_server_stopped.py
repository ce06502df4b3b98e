"""Fault 3: the MLflow tracking server stops mid-search; the search goes on and MLflow catches up.

A real ``mlflow server`` (SQLite backend, proxied artifacts) on 127.0.0.1 is killed while the real
CLI searches against it. The Optuna study is the search's truth, so:

1. server killed after the first finished trial and restarted: the search finishes, and the
   recorder replays what it missed once the server answers again (during the search, or at its
   end); MLflow then holds one run per finished trial, none twice;
2. server killed again while the search is extended (``--trials``) and left down until the search
   ends: the search still finishes (exit 0) and says to run ``cpt-search sync``; after a restart,
   ``cpt-search sync NAME`` records the rest, and a second sync changes nothing;
3. server unreachable at start: exit 2 with one line naming the URI, within 5 s.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tests.faults.harness import Driver, MlflowServer, count, free_port, tiny_space, write_space

pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (process groups)")]

FIRST, SECOND = 12, 16  # target trials of the first run and of the extended second run


def test_server_stopped_mid_search_then_replayed_and_synced(tmp_path: Path) -> None:
    server = MlflowServer(tmp_path / "server", free_port()).start()
    space = write_space(tmp_path / "outage.yaml", tiny_space("outage", FIRST))
    store = tmp_path / "store"
    base = ["run", str(space), "--store", str(store), "--tracking-uri", server.uri]
    try:
        # 1. killed (as a crash) after the first finished trial, restarted once the driver noticed.
        driver = Driver(base)
        assert driver.wait_for(" complete ", timeout_s=240), driver.output
        server.stop(signal.SIGKILL)
        assert driver.wait_for("stopped answering", timeout_s=120), driver.output
        server.start()
        assert driver.finish(timeout_s=400) == 0, driver.output
        first = driver.output
        replayed_during = "answers again" in first
        counts_1 = count(store, "outage", FIRST, server.uri)
        assert f"search 'outage' finished: {FIRST}/{FIRST} trials" in first, first
        assert counts_1.optuna_finished == counts_1.mlflow_runs == FIRST, counts_1.line()
        assert counts_1.duplicates == 0 and counts_1.lost == 0, counts_1.line()
        assert "Traceback" not in first, first

        # 2. stopped (SIGTERM, as an operator) while the search is extended, and left down.
        driver = Driver([*base, "--trials", str(SECOND)])
        assert driver.wait_for(" complete ", timeout_s=240), driver.output
        server.stop(signal.SIGTERM)
        assert driver.finish(timeout_s=400) == 0, driver.output
        second = driver.output
        assert f"search 'outage' finished: {SECOND}/{SECOND} trials" in second, second
        assert "cpt-search sync outage" in second, second
        assert "Traceback" not in second, second
        server.start()
        before_sync = count(store, "outage", SECOND, server.uri)
        assert before_sync.mlflow_runs < SECOND, before_sync.line()  # the outage really lost records
        sync = Driver(["sync", "outage", "--store", str(store), "--tracking-uri", server.uri])
        assert sync.finish(timeout_s=120) == 0, sync.output
        assert f"{SECOND} finished trials, {SECOND} trial runs" in sync.output, sync.output
        counts_2 = count(store, "outage", SECOND, server.uri)
        again = Driver(["sync", "outage", "--store", str(store), "--tracking-uri", server.uri])
        assert again.finish(timeout_s=120) == 0, again.output
        assert "(0 repaired)" in again.output, again.output
        counts_3 = count(store, "outage", SECOND, server.uri)
        assert counts_2 == counts_3
        assert counts_2.optuna_finished == counts_2.mlflow_runs == SECOND, counts_2.line()
        assert counts_2.duplicates == 0 and counts_2.lost == 0 and counts_2.parents == 1, counts_2.line()
    finally:
        server.stop(signal.SIGKILL)

    # 3. nothing listens at the URI: one line naming it, quickly.
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    refused = Driver(["run", str(space), "--store", str(tmp_path / "other"), "--tracking-uri", dead])
    status = refused.finish(timeout_s=60)
    seconds = time.monotonic() - started
    lines = [line for line in refused.output.splitlines() if line.strip()]
    print(f"\nfault 3: run 1 ({'replayed during the search' if replayed_during else 'replayed at its end'}): "
          f"{counts_1.line()}; run 2 before sync: MLflow {before_sync.mlflow_runs} runs; after sync: "
          f"{counts_2.line()}; unreachable at start: exit {status} in {seconds:.1f} s: {lines}")
    assert status == 2, refused.output
    assert len(lines) == 1 and dead in lines[0] and lines[0].startswith("error:"), refused.output
    assert seconds < 5.0, f"{seconds:.1f} s"
