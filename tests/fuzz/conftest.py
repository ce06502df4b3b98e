"""Fixtures of the fuzz suite: a stored search to export from, and files of every hostile kind."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest

from cpt_search.presets import preset, static
from cpt_search.search.resume import open_storage, open_study
from cpt_search.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A store with one search ``demo`` of two finished trials, written with Optuna's own
    ``add_trial`` in the format the runner leaves (no training)."""
    root = tmp_path_factory.mktemp("fuzz_store") / "store"
    where = Store.at(root).create()
    study = open_study(open_storage(where.optuna_url), "demo", ("maximize", "minimize"))
    for key, value in (("metric_name", "val_accuracy"), ("task", "digits/mlp"), ("budget", "tiny")):
        study.set_user_attr(key, value)
    dist = optuna.distributions.IntDistribution(1, 8)
    for metric, bitops, schedule, label in ((0.90, 4e9, preset("CR"), "CR"),
                                            (0.93, 6.25e9, static(8, 8), "static 8/8")):
        attrs = {"schedule": schedule.to_dict(), "label": label, "baseline": True,
                 "relative_cost": bitops / 1e11,
                 "result": {"relative_cost": bitops / 1e11, "relative_cost_vs_8_8": bitops / 6.25e9,
                            "fp32_bitops": 1e11}}
        study.add_trial(optuna.trial.create_trial(values=[metric, bitops], params={"min_bits": 3},
                                                  distributions={"min_bits": dist}, user_attrs=attrs))
    return root


@pytest.fixture()
def hostile(tmp_path: Path) -> dict[str, Path]:
    """Paths that must never be read or written as ordinary files."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    regular = tmp_path / "regular.txt"
    regular.write_text("a file, not a directory\n")
    big = tmp_path / "big.yaml"
    with open(big, "wb") as stream:  # sparse: 100 MB of size, no 100 MB of disk
        stream.truncate(100 << 20)
    return {"fifo": fifo, "regular": regular, "under_file": regular / "x.yaml", "big": big,
            "directory": tmp_path, "zero": Path("/dev/zero")}
