"""Shipping a space's code to Ray workers: what is copied, what is left out, the limit, the lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cpt_search.errors import ConfigError
from cpt_search.search.shipping import (
    MANIFEST_NAME,
    shipped_code_dirs,
    stage_code,
    worker_code_dirs,
)
from cpt_search.space import load_space

TASK_MODULE = '''
from cpt_search.tasks.digits import DigitsMLP
from cpt_search.tasks import TASKS
from helpers import WIDTH


class Mine(DigitsMLP):
    name = "mine"
    dataset = "digits"
    metric_name = "val_accuracy"
    test_metric_name = "test_accuracy"
    budgets = TASKS.get("digits/mlp").budgets
    hidden = WIDTH
'''


def make_project(root: Path) -> tuple[Path, Path]:
    """A user's project: spaces/ with the task module and data, src/ with a helper module."""
    spaces, src = root / "spaces", root / "src"
    (spaces / "data").mkdir(parents=True)
    (spaces / "__pycache__").mkdir()
    (spaces / "runs").mkdir()
    src.mkdir()
    (spaces / "shipping_user_task.py").write_text(TASK_MODULE, encoding="utf-8")
    (spaces / "data" / "big.bin").write_bytes(b"x" * 1000)
    (spaces / "weights.pt").write_bytes(b"x" * 1000)
    (spaces / "__pycache__" / "shipping_user_task.cpython-311.pyc").write_bytes(b"x")
    (spaces / "runs" / "optuna.sqlite3").write_bytes(b"x")
    (spaces / "runs" / "notes.txt").write_text("store", encoding="utf-8")
    (src / "helpers.py").write_text("WIDTH = 7\n", encoding="utf-8")
    return spaces, src


def test_stage_copies_code_and_leaves_data_stores_and_caches_out(tmp_path: Path) -> None:
    spaces, src = make_project(tmp_path / "project")
    staged = stage_code([spaces, src], tmp_path / "staged", skip=[spaces / "runs"])
    files = sorted(p.relative_to(staged.root).as_posix() for p in staged.root.rglob("*") if p.is_file())
    assert files == [MANIFEST_NAME, "code/0-spaces/shipping_user_task.py", "code/1-src/helpers.py"]
    assert staged.files == 2 and staged.shipped_bytes == len(TASK_MODULE) + len("WIDTH = 7\n")
    manifest = json.loads((staged.root / MANIFEST_NAME).read_text())
    assert manifest == {"digest": staged.digest, "folders": ["code/0-spaces", "code/1-src"]}


def test_digest_follows_the_content(tmp_path: Path) -> None:
    spaces, src = make_project(tmp_path / "project")
    first = stage_code([spaces, src], tmp_path / "a").digest
    assert stage_code([spaces, src], tmp_path / "b").digest == first
    (src / "helpers.py").write_text("WIDTH = 8\n", encoding="utf-8")
    assert stage_code([spaces, src], tmp_path / "c").digest != first


def test_over_the_limit_is_one_line_naming_the_largest_file(tmp_path: Path) -> None:
    spaces, src = make_project(tmp_path / "project")
    (src / "table.txt").write_bytes(b"y" * 5000)
    with pytest.raises(ConfigError) as caught:
        stage_code([spaces, src], tmp_path / "staged", max_bytes=4096, where="space.yaml")
    text = str(caught.value)
    assert "\n" not in text and text.startswith("space.yaml: code=")
    assert "over the limit" in text and "table.txt" in text and "CPT_SEARCH_MAX_CODE_MIB" in text


def test_limit_from_the_environment_is_checked(tmp_path: Path, monkeypatch) -> None:
    spaces, src = make_project(tmp_path / "project")
    monkeypatch.setenv("CPT_SEARCH_MAX_CODE_MIB", "zero")
    with pytest.raises(ConfigError, match="CPT_SEARCH_MAX_CODE_MIB='zero'"):
        stage_code([spaces], tmp_path / "staged")


def test_worker_finds_the_shipped_copy_by_digest_else_the_local_folders(tmp_path: Path) -> None:
    spaces, src = make_project(tmp_path / "project")
    staged = stage_code([spaces, src], tmp_path / "staged")
    path = ["/nonexistent", str(tmp_path), str(staged.root)]
    assert shipped_code_dirs(staged.digest, path) == (str(staged.root / "code" / "0-spaces"),
                                                      str(staged.root / "code" / "1-src"))
    assert shipped_code_dirs("0" * 16, path) is None
    # Without a shipped copy on sys.path (a local Ray), the driver's folders that exist here.
    assert worker_code_dirs([str(spaces), "/nonexistent"], staged.digest) == (str(spaces),)


def test_space_code_key_puts_folders_on_the_import_path(tmp_path: Path) -> None:
    spaces, src = make_project(tmp_path / "project")
    space_path = spaces / "space.yaml"
    space_path.write_text(yaml.safe_dump({"task": "shipping_user_task:Mine", "budget": "tiny", "trials": 1,
                                          "code": ["../src"]}), encoding="utf-8")
    space = load_space(space_path)
    assert space.code == (str(src.resolve()),)
    assert space.code_dirs == (str(spaces.resolve()), str(src.resolve()))
    assert yaml.safe_load(space.to_yaml())["code"] == [str(src.resolve())]


@pytest.mark.parametrize("entry, message", [("../missing", "code folder not found"),
                                            ("shipping_user_task.py", "code entries must be folders")])
def test_bad_code_entries_are_one_line(tmp_path: Path, entry: str, message: str) -> None:
    spaces, _ = make_project(tmp_path / "project")
    space_path = spaces / "space.yaml"
    space_path.write_text(f"task: digits/mlp\ntrials: 1\ncode:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_space(space_path)
    text = str(caught.value)
    assert "\n" not in text and message in text
    assert text.startswith(f"{space_path}:4: code.0={entry!r}")


def test_shipped_code_joins_the_jobs_runtime_env_beside_the_offline_variables(tmp_path: Path) -> None:
    from cpt_search.search.environment import OFFLINE_ENV, ray_init_kwargs

    spaces, src = make_project(tmp_path / "project")
    staged = stage_code([spaces, src], tmp_path / "staged")
    kwargs = ray_init_kwargs("127.0.0.1:6379", runtime_env=staged.runtime_env())
    assert kwargs["address"] == "127.0.0.1:6379"
    assert kwargs["runtime_env"]["working_dir"] == str(staged.root)
    assert OFFLINE_ENV.items() <= kwargs["runtime_env"]["env_vars"].items()
    assert "working_dir" not in ray_init_kwargs(None)["runtime_env"]
