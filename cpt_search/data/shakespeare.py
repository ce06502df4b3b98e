"""Tiny Shakespeare (karpathy/char-rnn): 1,115,394 characters in one ``input.txt``."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from cpt_search.data.locate import DatasetFiles
from cpt_search.data.options import DataOptions, locate

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"

FILES = DatasetFiles(
    name="tinyshakespeare", folders=("tinyshakespeare", "."), files=(("input.txt",),),
    hint="github.com/karpathy/char-rnn data/tinyshakespeare/",
)


def _fetch(tmp_root: Path) -> None:
    target = tmp_root / FILES.folders[0]
    target.mkdir(parents=True)
    with urllib.request.urlopen(URL, timeout=60) as response:  # only with download=True
        (target / "input.txt").write_bytes(response.read())


def prepare(options: DataOptions) -> tuple[Path, Path]:
    """Locate (or download) the text; nothing to process: ``(root, input.txt)``."""
    root, folder = locate(FILES, options, fetch=_fetch)
    return root, folder / "input.txt"


def load(options: DataOptions) -> str:
    """The whole text."""
    _, path = prepare(options)
    return path.read_text(encoding="utf-8")
