"""CIFAR-10 / CIFAR-100 via torchvision's readers, cached once as one ``.npz`` of uint8 arrays.

A data root holds ``cifar/cifar-10-batches-py/`` or ``cifar/cifar-100-python/`` (the folders
torchvision's downloaders unpack). Missing and offline: a :class:`DataError`; with ``download=True``
torchvision fetches the archive into the cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cpt_search.data.cache import build_once, source_key
from cpt_search.data.fashion_mnist import ImageArrays
from cpt_search.data.locate import DatasetFiles
from cpt_search.data.memo import remembered
from cpt_search.data.options import DataOptions, locate

_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
_FILES = {
    "cifar10": [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"],
    "cifar100": ["train", "test", "meta"],
}

# Validation images held out of the 50,000 training images: He et al. (2016, "Deep Residual
# Learning") tune CIFAR ResNets on this 45,000/5,000 split; the official 10,000 test images report.
VAL_SIZE = 5_000

FILES = {
    name: DatasetFiles(
        name=name, folders=("cifar", "."),
        files=tuple((f"{_FOLDERS[name]}/{file}",) for file in _FILES[name]),
        hint="www.cs.toronto.edu/~kriz/cifar.html (python version), unpacked",
    )
    for name in _FOLDERS
}


def _tv_class(name: str):
    from torchvision import datasets

    return datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100


def _build(name: str, folder: Path, tmp: Path) -> None:
    cls = _tv_class(name)
    train, test = cls(str(folder), train=True, download=False), cls(str(folder), train=False,
                                                                       download=False)
    with open(tmp, "wb") as stream:
        np.savez(stream, train_images=train.data, train_labels=np.asarray(train.targets),
                 test_images=test.data, test_labels=np.asarray(test.targets))


def prepare(name: str, options: DataOptions) -> tuple[Path, Path]:
    """Locate (or download) CIFAR ``name`` and cache its arrays: ``(root, cached file)``."""
    def fetch(tmp_root: Path) -> None:
        for train in (True, False):
            _tv_class(name)(str(tmp_root / "cifar"), train=train, download=True)

    root, folder = locate(FILES[name], options, fetch=fetch)
    cached = build_once(options.cache / f"{source_key(name, folder)}.npz",
                        lambda tmp: _build(name, folder, tmp))
    return root, cached


def load(name: str, options: DataOptions) -> ImageArrays:
    """CIFAR ``name`` as uint8 images ``[N, 32, 32, 3]`` and int64 labels: 45,000 training,
    5,000 held-out validation and the 10,000 test images."""
    _, cached = prepare(name, options)
    return remembered(("cifar", name, str(cached)), lambda: ImageArrays.from_npz(cached, VAL_SIZE))
