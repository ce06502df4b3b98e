"""The cache of prepared datasets, built once and safely under concurrency.

Two trials that start at the same moment must not both process a dataset, nor read a half-written
file (two PyG ``Planetoid`` processings of one folder were seen to race). :func:`build_once` takes a
file lock and builds into a temporary path that is renamed into place, so readers only ever see a
complete result, even if a builder is killed half-way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from filelock import FileLock

log = logging.getLogger(__name__)

CACHE_ENV = "CPT_SEARCH_CACHE"


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$CPT_SEARCH_CACHE``, else ``~/.cache/cpt_search``."""
    chosen = cache_dir if cache_dir is not None else os.environ.get(CACHE_ENV) or None
    if chosen is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        chosen = Path(base) / "cpt_search"
    return Path(chosen).expanduser().absolute()


def source_key(name: str, source: Path) -> str:
    """A cache entry name for ``name`` prepared from ``source``: different sources never collide."""
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:10]
    return f"{name}-{digest}"


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, building it first with ``build(tmp_path)`` if it does not exist.

    ``build`` writes a file or a folder at the temporary path it is given; that path is then renamed
    to ``target`` (atomic on one file system). A lock next to ``target`` serialises builders across
    processes; a second caller waits, then finds the finished target.
    """
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.exists():  # another process built it while we waited
            return target
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        log.info("preparing %s", target)
        try:
            build(tmp)
            os.replace(tmp, target)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
    return target
