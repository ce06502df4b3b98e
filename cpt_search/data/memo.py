"""Timing of dataset reads in this process.

:func:`remembered` reads a dataset (``load()``) and adds the time it took to :func:`load_seconds`;
the trial loop reports the difference around a task's ``prepare`` as its data time
(docs/performance.md, "Per-trial overhead").
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_seconds = 0.0  # reading, this process


def remembered(key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s value (``key`` names the prepared file it reads)."""
    global _seconds
    started = time.perf_counter()
    value = load()
    with _lock:
        _seconds += time.perf_counter() - started
    return value


def load_seconds() -> float:
    """Seconds this process has spent in :func:`remembered`."""
    return _seconds
