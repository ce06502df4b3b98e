"""Locating and preparing datasets, offline by default.

Each dataset is one small module (``fashion_mnist``, ``cifar``, ``planetoid``, ``shakespeare``,
``digits``) that finds its files in a data root (:mod:`~cpt_search.data.locate`), prepares them once
into the cache (:mod:`~cpt_search.data.cache`) and loads them. :func:`prepare_dataset_root` lets a search driver do
the preparation once, before any trial starts, and pass the returned absolute root to the trials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from cpt_search.data import cifar, fashion_mnist, planetoid, shakespeare
from cpt_search.data.cache import CACHE_ENV, build_once, cache_root
from cpt_search.data.locate import DATA_ENV, DatasetFiles, data_roots
from cpt_search.data.options import DataOptions, locate
from cpt_search.registry import Registry

# dataset name -> preparer returning the data root the files were found in.
DATASETS: Registry[Callable[[DataOptions], Path]] = Registry("dataset")
DATASETS.register("fashion-mnist", lambda options: fashion_mnist.prepare(options)[0])
DATASETS.register("cifar10", lambda options: cifar.prepare("cifar10", options)[0])
DATASETS.register("cifar100", lambda options: cifar.prepare("cifar100", options)[0])
DATASETS.register("cora", lambda options: planetoid.prepare("cora", options)[0])
DATASETS.register("citeseer", lambda options: planetoid.prepare("citeseer", options)[0])
DATASETS.register("tinyshakespeare", lambda options: shakespeare.prepare(options)[0])
# Bundled with scikit-learn: nothing to find; the cache root stands in as the "data root".
DATASETS.register("digits", lambda options: options.cache)


def prepare_dataset(name: str, options: DataOptions | None = None) -> Path:
    """Find (or download, if allowed) dataset ``name`` and prepare it once; return its data root."""
    return DATASETS.get(name, where="data", key="dataset")(options or DataOptions())


def prepare_dataset_root(dataset: str | None, data_dir: str | os.PathLike | None = None,
                         download: bool = False, *, cache_dir: str | os.PathLike | None = None,
                         system_dirs: bool = True) -> Path:
    """Prepare ``dataset`` once and return the absolute data root its files were found in.

    Pass the result as ``TrialSpec.data_dir`` so every trial (Ray workers run in their own working
    directories) finds the same files and the already-prepared cache. A task without a registered
    dataset (``None``: it loads its own data) gets ``data_dir`` (or the cache root) back.

    Raises:
        UnknownNameError: ``dataset`` is not registered.
        DataError: the files are missing and no download was allowed (the message names them).
    """
    options = DataOptions(
        data_dir=None if data_dir is None else str(data_dir), download=download,
        cache_dir=None if cache_dir is None else str(cache_dir), system_dirs=system_dirs,
    )
    if dataset is None:
        return Path(data_dir).absolute() if data_dir is not None else options.cache
    return prepare_dataset(dataset, options).absolute()


__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "DATASETS",
    "DataOptions",
    "DatasetFiles",
    "build_once",
    "cache_root",
    "data_roots",
    "locate",
    "prepare_dataset",
    "prepare_dataset_root",
]
