"""Fashion-MNIST read straight from its IDX files (``.gz`` or unpacked) with numpy.

torchvision's ``FashionMNIST`` wants unpacked files under ``ROOT/FashionMNIST/raw`` and re-downloads
Debian's ``.gz`` files (their checksums differ), and a per-sample ``DataLoader`` is slow on CPU.
Reading the four files ourselves takes a few lines; the arrays are cached once as one
``.npz`` so later trials load them in milliseconds.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cpt_search.data.cache import build_once, source_key
from cpt_search.data.locate import DatasetFiles
from cpt_search.data.memo import remembered
from cpt_search.data.options import DataOptions, locate
from cpt_search.data.splits import hold_out
from cpt_search.errors import DataError

_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# Validation images held out of the 60,000 training images (the 55,000/5,000 split of the MNIST
# tutorials); the official 10,000 test images report.
VAL_SIZE = 5_000

FILES = DatasetFiles(
    name="fashion-mnist",
    folders=("fashion-mnist", "FashionMNIST/raw"),
    files=tuple((f"{name}.gz", name) for name in _NAMES),
    hint="apt-get install dataset-fashion-mnist, or github.com/zalandoresearch/fashion-mnist",
)


@dataclass(frozen=True)
class ImageArrays:
    """A classification dataset held in memory: uint8 images ``[N, H, W(, C)]``, int64 labels.

    Three disjoint splits: ``train`` trains, ``val`` selects (the search objective), ``test``
    reports (see :mod:`cpt_search.data.splits`).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    @classmethod
    def holding_out(cls, train_images: np.ndarray, train_labels: np.ndarray,
                    test_images: np.ndarray, test_labels: np.ndarray, val_size: int) -> "ImageArrays":
        """The official train/test splits with a fixed ``val_size`` hold-out of the training split."""
        kept, held = hold_out(len(train_labels), val_size)
        return cls(train_images[kept], train_labels[kept], train_images[held], train_labels[held],
                   test_images, test_labels)

    @classmethod
    def from_npz(cls, path: Path, val_size: int) -> "ImageArrays":
        """A prepared cache file (``train_images``, ``train_labels``, ``test_images``, ``test_labels``)
        with the :meth:`holding_out` split."""
        with np.load(path) as data:
            return cls.holding_out(data["train_images"], data["train_labels"].astype(np.int64),
                                   data["test_images"], data["test_labels"].astype(np.int64), val_size)


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzip-compressed) as a uint8 array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:  # 0x08 = unsigned byte, the only type MNIST files use
        raise DataError("not an unsigned-byte IDX file", where=str(path),
                        value=f"magic {zero:#06x} type {dtype_code:#04x}",
                        fix="replace it with the original Fashion-MNIST file (apt-get install "
                            "dataset-fashion-mnist)")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _build(folder: Path, tmp: Path) -> None:
    arrays = [read_idx(path) for path in FILES.paths_in(folder)]
    with open(tmp, "wb") as stream:  # a file object, so numpy does not append ".npz" to tmp
        np.savez(stream, train_images=arrays[0], train_labels=arrays[1],
                 test_images=arrays[2], test_labels=arrays[3])


def _fetch(tmp_root: Path) -> None:
    from torchvision.datasets import FashionMNIST  # only for an allowed download

    FashionMNIST(str(tmp_root / "tv"), train=True, download=True)
    target = tmp_root / FILES.folders[0]
    target.mkdir(parents=True)
    for name in _NAMES:
        shutil.move(str(tmp_root / "tv" / "FashionMNIST" / "raw" / f"{name}.gz"), target)
    shutil.rmtree(tmp_root / "tv")


def prepare(options: DataOptions) -> tuple[Path, Path]:
    """Locate (or download) the files and cache them as one array file: ``(root, cached file)``."""
    root, folder = locate(FILES, options, fetch=_fetch)
    cached = build_once(options.cache / f"{source_key(FILES.name, folder)}.npz",
                        lambda tmp: _build(folder, tmp))
    return root, cached


def load(options: DataOptions, val_size: int = VAL_SIZE) -> ImageArrays:
    """55,000 training, 5,000 held-out validation (``val_size``) and the 10,000 test images
    (28x28 uint8)."""
    _, cached = prepare(options)
    return remembered(("fashion-mnist", str(cached), val_size), lambda: ImageArrays.from_npz(cached, val_size))
