"""The user's code on every Ray worker, without installing it there.

A space names its task by import string (``task: my_tasks:MyTask``), resolved against the space
file's folder and the folders of its ``code:`` key. On a local Ray the workers share this machine's
file system, so they resolve the same string against the same absolute folders. On a cluster
(``--ray-address``) the folders are shipped with Ray's ``runtime_env``: :func:`stage_code` copies
them, minus data, stores and caches (:data:`DEFAULT_EXCLUDES`, plus the search's own store and data
folders when they lie inside), into one folder with a manifest, which becomes the job's
``working_dir``. Ray unpacks it on each node and puts it first on the workers' ``PYTHONPATH``;
:func:`shipped_code_dirs` finds it there by the manifest's digest, and the trial resolves the import
string against the shipped copies.

One staging folder rather than ``py_modules``: Ray ships a ``py_modules`` folder as a package
(``import src``), while ``code: [../src]`` means "put ``../src`` on the path" (``import my_module``).

Ray refuses a package over its gRPC message limit (about 500 MiB) only after zipping it, with a
message about ``excludes``; a search refuses anything over :data:`MAX_CODE_BYTES` first, naming the
largest files, because shipped data would be uploaded once per job and unpacked on every node.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from cpt_search.errors import ConfigError

MANIFEST_NAME = "_cpt_search_code.json"
CODE_FOLDER = "code"  # staged folders go to code/<index>-<name>/
MAX_CODE_ENV = "CPT_SEARCH_MAX_CODE_MIB"
MAX_CODE_BYTES = 64 * 2**20
# Not code: version control, caches, virtualenvs, stores (ours, MLflow's, Optuna's SQLite) and
# data or checkpoints. A directory pattern (trailing "/") matches a folder of that name at any depth.
DEFAULT_EXCLUDES = (
    ".git/", ".hg/", ".svn/", "__pycache__/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/",
    ".ipynb_checkpoints/", ".venv/", "venv/", "*.egg-info/", "node_modules/",
    "cpt_search_runs/", "mlruns/", "mlartifacts/", "ray_results/", "data/", "datasets/",
    "*.pyc", "*.db", "*.sqlite", "*.sqlite3", "*.pt", "*.pth", "*.ckpt", "*.safetensors", "*.npz",
    "*.npy", "*.h5", "*.parquet", "*.tar", "*.tar.gz", "*.tgz", "*.zip", "*.lock",
)


@dataclass(frozen=True)
class StagedCode:
    """Code folders copied for shipping.

    Attributes:
        root: the staging folder (the job's ``working_dir``).
        folders: the original folders, in resolution order.
        digest: a hash of every shipped path and its bytes (names the copy on the workers).
        shipped_bytes: bytes copied.
        files: files copied.
    """

    root: Path
    folders: tuple[str, ...]
    digest: str
    shipped_bytes: int
    files: int

    def runtime_env(self) -> dict[str, str]:
        """The ``runtime_env`` entries that ship the code (merged with the session's env vars)."""
        return {"working_dir": str(self.root)}


def max_code_bytes() -> int:
    """The shipping limit: ``$CPT_SEARCH_MAX_CODE_MIB`` MiB, else :data:`MAX_CODE_BYTES`."""
    value = os.environ.get(MAX_CODE_ENV)
    if not value:
        return MAX_CODE_BYTES
    try:
        mib = float(value)
    except ValueError:
        mib = -1.0
    if not mib > 0:
        raise ConfigError("the code shipping limit must be a positive number of MiB", key=MAX_CODE_ENV,
                          value=value, fix=f"unset it (default {MAX_CODE_BYTES // 2**20} MiB) or set e.g. 128")
    return int(mib * 2**20)


def _excluded(relative: Path, is_dir: bool, patterns: Sequence[str]) -> bool:
    name = relative.name
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and fnmatch.fnmatch(name, pattern[:-1]):
                return True
        elif not is_dir and fnmatch.fnmatch(name, pattern):
            return True
    return False


def _walk(folder: Path, patterns: Sequence[str], skip: Sequence[Path]) -> Iterator[Path]:
    """Files under ``folder`` to ship, sorted, minus excluded names and the ``skip`` folders."""
    for current, dirs, files in os.walk(folder, followlinks=False):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs
                         if not _excluded(here / d, True, patterns)
                         and not any(_same_or_inside(here / d, s) for s in skip))
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file() or _excluded(path, False, patterns):
                continue
            yield path


def _same_or_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def stage_code(folders: Sequence[str | os.PathLike], into: str | os.PathLike, *,
               skip: Iterable[str | os.PathLike | None] = (), where: str | None = None,
               excludes: Sequence[str] = DEFAULT_EXCLUDES, max_bytes: int | None = None) -> StagedCode:
    """Copy ``folders`` (minus excluded files and the ``skip`` folders) into ``into`` for shipping.

    Args:
        folders: the code folders, in the order imports are resolved (the space's ``code_dirs``).
        into: an empty or missing staging folder.
        skip: folders never shipped even inside a code folder (the search's store, its data root).
        where: the space file, for messages.
        excludes: name patterns left out (:data:`DEFAULT_EXCLUDES`).
        max_bytes: refuse more than this (default :func:`max_code_bytes`).

    Raises:
        ConfigError: the code is over the limit (the message names the largest files).
    """
    limit = max_code_bytes() if max_bytes is None else max_bytes
    root = Path(into)
    skipped = [Path(s).resolve() for s in skip if s is not None]
    plan: list[tuple[Path, Path]] = []
    for index, folder in enumerate(Path(f).resolve() for f in folders):
        target = Path(CODE_FOLDER) / f"{index}-{folder.name or 'root'}"
        plan.extend((path, target / path.relative_to(folder)) for path in _walk(folder, excludes, skipped))
    sizes = [(source.stat().st_size, source) for source, _ in plan]
    total = sum(size for size, _ in sizes)
    if total > limit:
        largest = ", ".join(f"{source} ({size / 2**20:.1f} MiB)" for size, source in sorted(sizes, reverse=True)[:3])
        raise ConfigError(f"the code to ship to the Ray cluster is {total / 2**20:.1f} MiB, over the limit of "
                          f"{limit / 2**20:.0f} MiB (largest: {largest})", where=where, key="code",
                          value=[str(f) for f in folders],
                          fix="move data and outputs out of the code folders (each node reads data from "
                              f"--data-dir), or raise {MAX_CODE_ENV}")
    digest = hashlib.sha256()
    for source, relative in plan:
        destination = root / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(destination.read_bytes())
    shipped = [str(Path(CODE_FOLDER) / f"{index}-{Path(f).resolve().name or 'root'}")
               for index, f in enumerate(folders)]
    for relative_folder in shipped:  # an empty code folder still resolves (to nothing)
        (root / relative_folder).mkdir(parents=True, exist_ok=True)
    hexdigest = digest.hexdigest()[:16]
    (root / MANIFEST_NAME).write_text(json.dumps({"digest": hexdigest, "folders": shipped}), encoding="utf-8")
    return StagedCode(root=root, folders=tuple(str(Path(f).resolve()) for f in folders), digest=hexdigest,
                      shipped_bytes=total, files=len(plan))


def shipped_code_dirs(digest: str, path: Sequence[str] | None = None) -> tuple[str, ...] | None:
    """On a worker: the shipped copies of the code folders staged with ``digest``, or ``None``.

    Ray puts the job's ``working_dir`` on ``sys.path``; its manifest lists the folders.
    """
    for entry in (sys.path if path is None else path):
        manifest = Path(entry or ".") / MANIFEST_NAME
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("digest") == digest:
            return tuple(str((manifest.parent / folder).resolve()) for folder in data.get("folders", ()))
    return None


def worker_code_dirs(folders: Sequence[str], digest: str | None) -> tuple[str, ...]:
    """The folders a trial resolves the task's import string in: the shipped copies when this
    worker got them, else the driver's folders that exist here (a local Ray shares the file system)."""
    if digest:
        shipped = shipped_code_dirs(digest)
        if shipped is not None:
            return shipped
    return tuple(f for f in folders if Path(f).is_dir())


__all__ = ["DEFAULT_EXCLUDES", "MANIFEST_NAME", "MAX_CODE_BYTES", "MAX_CODE_ENV", "StagedCode",
           "max_code_bytes", "shipped_code_dirs", "stage_code", "worker_code_dirs"]
