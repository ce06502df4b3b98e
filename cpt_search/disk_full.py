"""A full disk under the store, told apart from other errors wherever it surfaces.

A full disk reaches a search as many different exceptions: ``OSError`` ``ENOSPC``/``EDQUOT`` from a
plain write (Ray Tune's results, MLflow artifacts), SQLite's ``database or disk is full`` wrapped by
SQLAlchemy, then by Optuna (``StorageInternalError``) or MLflow (``MlflowException``). The original
error is in the chain of causes, so :func:`is_disk_full` walks it. SQLite rolls a failed
transaction back (its journal), so a full disk corrupts neither database; what a search cannot
write it learns again on the resume (an interrupted trial is re-run).
"""

from __future__ import annotations

import errno

from cpt_search.errors import TrackingError

_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_MESSAGES = ("database or disk is full", "no space left on device", "disk quota exceeded")


def is_disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or any error it was raised from, says the disk is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _ERRNOS:
            return True
        if any(text in str(error).lower() for text in _MESSAGES):
            return True
        error = error.__cause__ or error.__context__
    return False


def disk_full_error(store_root: object) -> TrackingError:
    """The one-line error of a search stopped by a full disk under its store."""
    return TrackingError("the disk under the store is full; the search stopped (nothing finished is lost, "
                         "the databases are intact)", where=str(store_root),
                         fix="free space on that disk (df -h on the store) and rerun the same command "
                             "to resume the search")
