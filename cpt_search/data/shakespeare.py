"""Tiny Shakespeare (karpathy/char-rnn): 1,115,394 characters in one ``input.txt``.

:func:`load_splits` cuts the text into three contiguous spans: the first 90 % trains, the next 5 %
validates (the search objective), the last 5 % is the test span (reported, never selected on).
Contiguous spans, not random windows, so no test character is ever seen in training.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cpt_search.data.locate import DatasetFiles
from cpt_search.data.memo import remembered
from cpt_search.data.options import DataOptions, locate

VAL_FRAC = 0.05
TEST_FRAC = 0.05
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


@dataclass(frozen=True)
class CharSplits:
    """The text as int64 character codes in three spans, and the vocabulary (sorted characters).

    Attributes:
        train, val, test: codes of the training, validation and test spans.
        vocab: ``vocab[code]`` is the character; built from the whole text, so every span encodes.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    vocab: str

    @property
    def vocab_size(self) -> int:
        """Distinct characters (65 for Tiny Shakespeare)."""
        return len(self.vocab)


def split_text(text: str) -> CharSplits:
    """Encode ``text`` and cut it into the training, validation and test spans."""
    vocab = "".join(sorted(set(text)))
    lookup = np.zeros(max(map(ord, vocab)) + 1, dtype=np.int64)
    lookup[[ord(char) for char in vocab]] = np.arange(len(vocab))
    codes = lookup[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]
    val_start = int(len(codes) * (1 - VAL_FRAC - TEST_FRAC))
    test_start = int(len(codes) * (1 - TEST_FRAC))
    return CharSplits(train=codes[:val_start], val=codes[val_start:test_start],
                      test=codes[test_start:], vocab=vocab)


def load_splits(options: DataOptions) -> CharSplits:
    """The text encoded and split (:func:`split_text`)."""
    _, path = prepare(options)
    return remembered(("tinyshakespeare", str(path)), lambda: split_text(path.read_text(encoding="utf-8")))
