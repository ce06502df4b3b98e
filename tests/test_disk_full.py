"""A full disk is recognised however deep in the chain of causes it is."""

from __future__ import annotations

import errno
import sqlite3

from cpt_search.disk_full import disk_full_error, is_disk_full


def _raised_from(outer: type[Exception], inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as cause:
            raise outer("An exception is raised during the commit.") from cause
    except Exception as error:  # noqa: BLE001 - the chained error is the value under test
        return error


def test_enospc_and_sqlite_full_are_recognised_through_wrappers() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    wrapped = _raised_from(RuntimeError, sqlite3.OperationalError("database or disk is full"))
    assert is_disk_full(_raised_from(ValueError, wrapped))  # Optuna over SQLAlchemy over sqlite3


def test_other_errors_are_not_a_full_disk() -> None:
    assert not is_disk_full(None)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(_raised_from(RuntimeError, sqlite3.OperationalError("database is locked")))


def test_the_error_is_one_line_naming_the_store() -> None:
    text = str(disk_full_error("/data/store"))
    assert "\n" not in text and text.startswith("/data/store: the disk under the store is full")
    assert "rerun the same command" in text
