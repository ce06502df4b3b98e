"""How a task finds its data: one inert value passed from the CLI or the search to the loaders."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cpt_search.data.cache import build_once, cache_root
from cpt_search.data.locate import DatasetFiles, data_roots, find_dataset, missing_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataOptions:
    """Where to look for data and whether fetching it is allowed.

    Attributes:
        data_dir: a data root (see :mod:`cpt_search.data.locate`); ``None`` uses ``$CPT_SEARCH_DATA``.
        download: allow the standard download (torchvision / torch-geometric) when files are missing.
        cache_dir: where prepared datasets go; ``None`` uses ``$CPT_SEARCH_CACHE`` or ``~/.cache``.
        system_dirs: also search Debian's ``/usr/share/datasets`` and the cache's downloads folder;
            tests turn this off to see the missing-data error on a machine that has the data.
    """

    data_dir: str | None = None
    download: bool = False
    cache_dir: str | None = None
    system_dirs: bool = True

    @property
    def cache(self) -> Path:
        """The resolved cache folder."""
        return cache_root(self.cache_dir)

    def roots(self) -> list[Path]:
        """The data roots searched, in order."""
        return data_roots(self.data_dir, system_dirs=self.system_dirs, cache_dir=self.cache_dir)


def locate(spec: DatasetFiles, options: DataOptions,
           fetch: Callable[[Path], None] | None = None) -> tuple[Path, Path]:
    """``(root, folder)`` holding ``spec``'s files; downloads them first if allowed and missing.

    ``fetch(tmp_root)`` must lay the files out under ``tmp_root`` like a data root; it runs at most
    once per cache (under a lock) and only when ``options.download`` is true.

    Raises:
        DataError: the files are not in any root (and no download was allowed or possible).
    """
    roots = options.roots()
    found = find_dataset(spec, roots)
    if found is not None:
        return found
    if options.download and fetch is not None:
        downloads = options.cache / "downloads"
        marker = downloads / f".{spec.name}.complete"

        def fetch_into(tmp: Path) -> None:
            tmp.mkdir(parents=True)
            fetch(tmp)
            for path in sorted(tmp.rglob("*")):  # merge into the shared downloads root
                target = downloads / path.relative_to(tmp)
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                elif not target.exists():
                    os.replace(path, target)

        log.info("downloading dataset %s into %s", spec.name, downloads)
        try:
            build_once(marker, fetch_into)
        except (OSError, RuntimeError, ValueError) as error:
            # urllib (torchvision) raises URLError/OSError, PyG's fsspec/aiohttp raise
            # ClientError subclasses of OSError or RuntimeError: either way, the network is the cause.
            raise missing_error(spec, roots, can_download=False).with_context(
                where=f"data: download of {spec.name} failed ({type(error).__name__}: "
                      f"{str(error).splitlines()[0][:200] if str(error) else 'no message'})") from error
        found = find_dataset(spec, [downloads])
        if found is not None:
            return found
    raise missing_error(spec, roots, can_download=fetch is not None)
