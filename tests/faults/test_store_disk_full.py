"""Fault 5: the store's disk fills up mid-search; one clear line, nothing corrupted, resumed once freed.

The store lives on a small tmpfs of its own (``mount -t tmpfs``, so root only), and a filler file
takes every free byte after the first finished trial. The driver must stop with exit status 2 and
one ``error:`` line naming the store, without a traceback; both SQLite databases must pass
``PRAGMA integrity_check``; once the filler is deleted, the same command resumes the search to its
target with one MLflow run per finished trial.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.harness import Driver, count, tiny_space, write_space

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (tmpfs)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs for the store needs root"),
]

TARGET = 10
DISK_MIB = 48  # the store of a tiny search takes about 2 MiB; MLflow's schema and Tune's files fit


@pytest.fixture()
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> int:
    """Write zeros into ``path`` until the disk refuses; returns the bytes written."""
    written = 0
    block = b"\0" * 2**20
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                written += handle.write(block)
        except OSError:
            pass
        small = b"\0" * 512  # and the last partial blocks
        try:
            while True:
                written += handle.write(small)
        except OSError:
            pass
    return written


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def test_full_disk_stops_in_one_line_and_resumes_once_freed(tmp_path: Path, small_disk: Path) -> None:
    space = write_space(tmp_path / "full.yaml", tiny_space("full", TARGET))
    store = small_disk / "store"
    args = ["run", str(space), "--store", str(store)]
    filler = small_disk / "filler"

    driver = Driver(args)
    assert driver.wait_for(" complete ", timeout_s=240), driver.output
    filled = _fill(filler)
    status = driver.finish(timeout_s=300)
    output = driver.output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert status == 2, output
    assert len(errors) == 1 and str(store) in errors[0] and "disk under the store is full" in errors[0], output
    assert "Traceback" not in output, output
    integrity = {db: _integrity(store / db) for db in ("optuna.db", "mlflow.db")}
    assert integrity == {"optuna.db": "ok", "mlflow.db": "ok"}

    filler.unlink()
    resumed = Driver(args)
    assert resumed.finish(timeout_s=400) == 0, resumed.output
    assert f"search 'full' finished: {TARGET}/{TARGET} trials" in resumed.output, resumed.output
    counts = count(store, "full", TARGET)
    print(f"\nfault 5: filled {filled / 2**20:.1f} MiB after the first trial; exit {status}: {errors[0]}; "
          f"integrity {integrity}; after freeing and resuming: {counts.line()}")
    assert counts.optuna_finished == counts.mlflow_runs == TARGET, counts.line()
    assert counts.duplicates == 0 and counts.lost == 0 and counts.parents == 1, counts.line()
    assert all(_integrity(store / db) == "ok" for db in ("optuna.db", "mlflow.db"))
