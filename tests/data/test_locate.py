"""Finding datasets: search order, the missing-data error, reading IDX files, the lock-and-rename cache."""

from __future__ import annotations

import gzip
import multiprocessing
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from cpt_search.data import DataOptions, build_once, data_roots, fashion_mnist, planetoid, prepare_dataset_root
from cpt_search.data.fashion_mnist import read_idx
from cpt_search.errors import DataError, UnknownNameError


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file, gzip-compressed when the name ends in .gz."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(payload)
    else:
        path.write_bytes(payload)


def fake_fashion_root(root: Path, *, compressed: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([9, 0, 4], dtype=np.uint8),
    }
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(folder / (name + (".gz" if compressed else "")), array)
    return arrays


def test_explicit_dir_comes_first_then_env_then_system(tmp_path, monkeypatch):
    monkeypatch.setenv("CPT_SEARCH_DATA", str(tmp_path / "env"))
    roots = data_roots(tmp_path / "arg", cache_dir=tmp_path / "cache")
    assert roots == [tmp_path / "arg", Path("/usr/share/datasets"), tmp_path / "cache" / "downloads"]
    assert data_roots(None, cache_dir=tmp_path / "c")[0] == tmp_path / "env"
    assert data_roots(None, system_dirs=False) == [tmp_path / "env"]
    monkeypatch.delenv("CPT_SEARCH_DATA")
    assert data_roots(None, system_dirs=False) == []


def test_missing_dataset_is_one_line_naming_the_files_and_the_place(tmp_path):
    options = DataOptions(data_dir=str(tmp_path), system_dirs=False)
    with pytest.raises(DataError) as caught:
        fashion_mnist.load(options)
    text = str(caught.value)
    assert "\n" not in text
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in text
    assert f"put these files in {tmp_path}/fashion-mnist/" in text
    assert "--download" in text


def test_missing_graph_names_the_planetoid_files(tmp_path):
    with pytest.raises(DataError, match=r"dataset cora not found: needs ind\.cora\.x, ind\.cora\.y"):
        planetoid.load("cora", DataOptions(data_dir=str(tmp_path), system_dirs=False))


@pytest.mark.parametrize("compressed", [True, False])
def test_fashion_mnist_reads_gz_or_unpacked_idx_exactly(tmp_path, compressed):
    arrays = fake_fashion_root(tmp_path / "data", compressed=compressed)
    options = DataOptions(data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"),
                          system_dirs=False)
    loaded = fashion_mnist.load(options, val_size=2)
    # The hold-out splits the training images (labels 0..5 here) and leaves the test images be.
    kept = np.concatenate([loaded.train_labels, loaded.val_labels])
    assert sorted(kept.tolist()) == list(range(6)) and len(loaded.val_labels) == 2
    for split in ("train", "val"):
        images, labels = getattr(loaded, f"{split}_images"), getattr(loaded, f"{split}_labels")
        np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte"][labels])
    np.testing.assert_array_equal(loaded.test_labels, [9, 0, 4])
    assert loaded.train_labels.dtype == np.int64
    assert len(list((tmp_path / "cache").glob("fashion-mnist-*.npz"))) == 1


def test_read_idx_rejects_non_idx(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        read_idx(path)


def _slow_build(target: str, log: str) -> str:
    def build(tmp: Path) -> None:
        with open(log, "a") as stream:
            stream.write("built\n")
        tmp.write_text("part one ")
        time.sleep(0.5)  # a reader must never see this half-written file
        with open(tmp, "a") as stream:
            stream.write("part two")

    return build_once(Path(target), build).read_text()


def test_build_once_builds_once_across_processes(tmp_path):
    target, log = tmp_path / "thing.bin", tmp_path / "log.txt"
    with multiprocessing.get_context("fork").Pool(3) as pool:
        texts = pool.starmap(_slow_build, [(str(target), str(log))] * 3)
    assert texts == ["part one part two"] * 3
    assert log.read_text() == "built\n"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_build_once_leaves_nothing_behind_when_the_build_fails(tmp_path):
    def build(tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "half").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        build_once(tmp_path / "dir", build)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.lock"]


def test_prepare_returns_the_absolute_data_root_and_processes_cora_once(data_dir, tmp_path):
    root = prepare_dataset_root("cora", data_dir, cache_dir=tmp_path)
    assert root == Path(data_dir).absolute()
    processed = list(tmp_path.glob("planetoid-cora-*/Cora/processed/data.pt"))
    assert len(processed) == 1
    mtime = processed[0].stat().st_mtime_ns
    assert prepare_dataset_root("cora", data_dir, cache_dir=tmp_path) == root
    assert processed[0].stat().st_mtime_ns == mtime  # not processed again


def test_prepare_unknown_dataset_suggests_the_closest(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'cora'"):
        prepare_dataset_root("corra", cache_dir=tmp_path)


def test_a_failed_download_is_one_line_naming_the_cause_and_the_files(tmp_path):
    from cpt_search.data.options import locate

    def offline(tmp_root):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    options = DataOptions(data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"),
                          download=True, system_dirs=False)
    with pytest.raises(DataError) as info:
        locate(fashion_mnist.FILES, options, fetch=offline)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("data: download of fashion-mnist failed (OSError: [Errno -3] Temporary "
                           "failure in name resolution)")
    assert "train-images-idx3-ubyte" in text and "--download" not in text
