"""Datasets loaded once per process: what a reused Ray worker keeps between trials.

A search's trials in one worker process (Ray Tune's ``reuse_actors``, see
:mod:`cpt_search.search.tuner`) train the same task on the same data, so each loader keeps what it
read, keyed by the prepared file it read it from (the cache entry's name already changes with the
source folder, :func:`cpt_search.data.cache.source_key`). Every call still runs the loader's
``prepare`` (finding the files, building the cache once), so missing data is reported as before; only
the read itself is skipped.

Each hit returns a deep copy: a task's ``prepare`` may modify what it was given (the GCN task
row-normalises ``data.x`` on the graph object), and nothing one trial did may reach the next one.
Copying Cora takes milliseconds, Fashion-MNIST's arrays tens of milliseconds; reading them again
takes far longer (docs/performance.md, "Per-trial overhead"). Only the last :data:`KEEP` datasets
are kept, so a process that loads many (a test session) does not grow without bound.

:func:`load_seconds` adds up the time spent reading and copying in this process; the trial loop
reports the difference around a task's ``prepare`` as its data time.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")

KEEP = 2  # datasets kept per process (a worker trains one task; a test session switches between few)

_lock = threading.Lock()
_kept: OrderedDict[Hashable, Any] = OrderedDict()
_seconds = 0.0  # reading and copying, this process


def remembered(key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s value, read once per process for ``key``; each call gets its own deep copy."""
    global _seconds
    started = time.perf_counter()
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            value = _kept[key]
        else:
            value = load()
            _kept[key] = value
            while len(_kept) > KEEP:
                _kept.popitem(last=False)
        fresh = copy.deepcopy(value)
        _seconds += time.perf_counter() - started
    return fresh


def load_seconds() -> float:
    """Seconds this process has spent in :func:`remembered` (reads and copies)."""
    return _seconds


def forget() -> None:
    """Drop every kept dataset (a test that wants the next load to read the files)."""
    with _lock:
        _kept.clear()
