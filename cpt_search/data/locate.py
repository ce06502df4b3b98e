"""Where datasets are looked for, and the one-line error when they are not there.

A *data root* is a folder laid out like ``../shared/data``: one sub-folder per dataset
(``planetoid/ind.cora.*``, ``tinyshakespeare/input.txt``, ``fashion-mnist/*-ubyte.gz``, ``cifar/...``).
Roots are searched in this order:

1. the ``data_dir`` argument (CLI ``--data-dir``), else the ``CPT_SEARCH_DATA`` environment variable;
2. unless ``system_dirs=False``: Debian's ``/usr/share/datasets`` (package ``dataset-fashion-mnist``)
   and the cache's ``downloads`` folder, where ``download=True`` puts what it fetches.

Nothing is downloaded here; see :mod:`cpt_search.data.prepare`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cpt_search.data.cache import cache_root
from cpt_search.errors import DataError

DATA_ENV = "CPT_SEARCH_DATA"
SYSTEM_DATA_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


@dataclass(frozen=True)
class DatasetFiles:
    """The files one dataset needs, relative to a data root.

    Attributes:
        name: dataset name (``"fashion-mnist"``).
        folders: sub-folders of a root that may hold the files, tried in order (``"."`` = the root).
        files: required files; each entry is a tuple of alternative names (e.g. ``.gz`` or unpacked).
        hint: where the files come from, shown when they are missing.
    """

    name: str
    folders: tuple[str, ...]
    files: tuple[tuple[str, ...], ...]
    hint: str = ""

    def find_in(self, root: Path) -> Path | None:
        """The folder under ``root`` that holds every required file, or ``None``."""
        for folder in self.folders:
            candidate = (root / folder).resolve()
            if all(any((candidate / name).is_file() for name in alts) for alts in self.files):
                return candidate
        return None

    def paths_in(self, folder: Path) -> list[Path]:
        """The first existing alternative of every required file in ``folder``."""
        found = []
        for alts in self.files:
            found.append(next(folder / name for name in alts if (folder / name).is_file()))
        return found


def data_roots(data_dir: str | os.PathLike | None = None, *, system_dirs: bool = True,
               cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """The data roots to search, in order (see the module docstring)."""
    roots: list[Path] = []
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if explicit is not None:
        roots.append(Path(explicit).expanduser().absolute())
    if system_dirs:
        roots.extend(SYSTEM_DATA_DIRS)
        roots.append(cache_root(cache_dir) / "downloads")
    return roots


def find_dataset(spec: DatasetFiles, roots: list[Path]) -> tuple[Path, Path] | None:
    """``(root, folder)`` of the first root that holds the dataset, or ``None``."""
    for root in roots:
        folder = spec.find_in(root)
        if folder is not None:
            return root.absolute(), folder
    return None


def missing_error(spec: DatasetFiles, roots: list[Path], *, can_download: bool = True) -> DataError:
    """A one-line :class:`DataError` naming the missing files and where to put them."""
    needed = ", ".join(alts[0] for alts in spec.files)
    first_root = roots[0] if roots else Path(os.environ.get(DATA_ENV, "DATA_DIR"))
    place = first_root / spec.folders[0]
    searched = "; ".join(str(root) for root in roots) or "no data folder given"
    fix = (f"put these files in {place}/ (or point --data-dir / {DATA_ENV} at a folder holding "
           f"{spec.folders[0]}/)")
    if can_download:
        fix += ", or allow a download with --download"
    if spec.hint:
        fix += f"; source: {spec.hint}"
    return DataError(
        f"dataset {spec.name} not found: needs {needed} (searched: {searched})",
        where="data", key="data_dir", value=str(roots[0]) if roots else None, fix=fix,
    )
