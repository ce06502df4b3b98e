"""Cora and CiteSeer (Planetoid split) from the raw ``ind.<name>.*`` files, processed once by PyG.

torch-geometric's ``Planetoid(ROOT, "Cora")`` reads ``ROOT/Cora/raw/`` and writes
``ROOT/Cora/processed/``; two trials processing one folder at once raced (seen here), so processing
happens once in the cache under a lock, into a temporary folder that is then renamed.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from cpt_search.data.cache import build_once, source_key
from cpt_search.data.locate import DatasetFiles
from cpt_search.data.memo import remembered
from cpt_search.data.options import DataOptions, locate

PYG_NAMES = {"cora": "Cora", "citeseer": "CiteSeer"}
_SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")

FILES = {
    name: DatasetFiles(
        name=name, folders=("planetoid", "."),
        files=tuple((f"ind.{name}.{suffix}",) for suffix in _SUFFIXES),
        hint="github.com/kimiyoung/planetoid data/",
    )
    for name in PYG_NAMES
}


def _build(name: str, folder: Path, tmp: Path) -> None:
    from torch_geometric.datasets import Planetoid

    raw = tmp / PYG_NAMES[name] / "raw"
    raw.mkdir(parents=True)
    for path in FILES[name].paths_in(folder):
        shutil.copyfile(path, raw / path.name)
    with contextlib.redirect_stderr(io.StringIO()):  # PyG prints "Processing..." itself
        Planetoid(str(tmp), PYG_NAMES[name])  # processes raw/ into processed/; no network


def _fetch(name: str, tmp_root: Path) -> None:
    from torch_geometric.datasets import Planetoid

    Planetoid(str(tmp_root / "pyg"), PYG_NAMES[name])  # downloads into pyg/<Name>/raw
    target = tmp_root / "planetoid"
    target.mkdir(parents=True)
    for path in (tmp_root / "pyg" / PYG_NAMES[name] / "raw").iterdir():
        shutil.move(str(path), target / path.name)
    shutil.rmtree(tmp_root / "pyg")


def prepare(name: str, options: DataOptions) -> tuple[Path, Path]:
    """Locate (or download) graph ``name`` and process it once: ``(root, PyG root in the cache)``."""
    root, folder = locate(FILES[name], options, fetch=lambda tmp: _fetch(name, tmp))
    processed = build_once(options.cache / source_key(f"planetoid-{name}", folder),
                           lambda tmp: _build(name, folder, tmp))
    return root, processed


def load(name: str, options: DataOptions):
    """The graph as one ``torch_geometric.data.Data`` with train/val/test masks."""
    from torch_geometric.datasets import Planetoid

    _, processed = prepare(name, options)

    def read():
        dataset = Planetoid(str(processed), PYG_NAMES[name])  # finds processed/: no processing
        return dataset[0], dataset.num_features, dataset.num_classes

    return remembered(("planetoid", name, str(processed)), read)
