"""The store layout and search names."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpt_search.errors import ConfigError
from cpt_search.store import Store, check_search_name, experiment_name


def test_default_store_is_local_sqlite_with_explicit_artifacts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    store = Store.at()
    assert store.root == tmp_path / "cpt_search_runs"
    assert store.tracking_uri == f"sqlite:///{tmp_path}/cpt_search_runs/mlflow.db"
    assert store.local_tracking
    assert store.optuna_url == f"sqlite:///{tmp_path}/cpt_search_runs/optuna.db"
    assert store.artifact_location("q") == (tmp_path / "cpt_search_runs" / "mlruns" / "q").as_uri()
    assert store.ray_dir("q") == tmp_path / "cpt_search_runs" / "ray" / "q"
    store.create()
    assert (tmp_path / "cpt_search_runs" / "locks").is_dir()


def test_tracking_uri_flag_beats_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5001")
    from_env = Store.at(tmp_path)
    assert from_env.tracking_uri == "http://127.0.0.1:5001" and not from_env.local_tracking
    assert from_env.artifact_location("q") is None  # a server decides where artifacts go
    flagged = Store.at(tmp_path, "sqlite:///elsewhere.db")
    assert flagged.tracking_uri == "sqlite:///elsewhere.db"
    assert flagged.artifact_location("q") == (tmp_path / "mlruns" / "q").as_uri()


def test_experiment_per_search() -> None:
    assert experiment_name("quickstart") == "cpt_search/quickstart"


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 101])
def test_bad_search_names(name: str) -> None:
    with pytest.raises(ConfigError, match="a search name must start with a letter or digit"):
        check_search_name(name)


def test_good_search_name() -> None:
    assert check_search_name("quickstart-2.v1_a") == "quickstart-2.v1_a"


def test_optuna_storage_from_the_environment_is_used_and_its_password_never_shown(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    url = "postgresql+psycopg://cpt:s3cret@127.0.0.1:55432/optuna"
    monkeypatch.setenv("CPT_SEARCH_OPTUNA_STORAGE", url)
    store = Store.at(tmp_path)
    assert store.optuna_url == url and not store.optuna_local
    assert store.optuna_url_shown == "postgresql+psycopg://cpt:***@127.0.0.1:55432/optuna"
    assert Store.at(tmp_path, optuna_storage="sqlite:///x.db").optuna_url == "sqlite:///x.db"
    monkeypatch.delenv("CPT_SEARCH_OPTUNA_STORAGE")
    assert Store.at(tmp_path).optuna_local and Store.at(tmp_path).optuna_url_shown.startswith("sqlite:///")


def test_an_unreachable_optuna_server_is_one_line_without_the_password() -> None:
    from cpt_search.errors import TrackingError
    from cpt_search.search.resume import open_storage

    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(TrackingError) as raised:
        open_storage("postgresql+psycopg://cpt:s3cret@127.0.0.1:9/optuna")
    text = str(raised.value)
    assert "s3cret" not in text and "CPT_SEARCH_OPTUNA_STORAGE" in text and "\n" not in text


def test_a_copied_or_moved_store_reads_its_own_artifacts(tmp_path: Path) -> None:
    """MLflow stores absolute artifact URIs; opening a store that moved re-points them into it."""
    import shutil

    from cpt_search.observers import SearchInfo
    from cpt_search.tracking.recorder import MlflowRecorder
    from cpt_search.tracking.relocate import relocate_artifacts

    original = Store.at(tmp_path / "original").create()
    rec = MlflowRecorder(original)
    rec.search_started(SearchInfo(name="moving", kind="search", metric_name="val_accuracy", higher_is_better=True,
                                  space_yaml="task: digits/mlp\n"))
    assert relocate_artifacts(original) == []  # in place: nothing to do
    shutil.copytree(original.root, tmp_path / "copy")
    shutil.move(str(original.root), tmp_path / "moved")
    for folder in ("copy", "moved"):
        store = Store.at(tmp_path / folder)
        moved = relocate_artifacts(store)
        assert [(m.experiment, m.runs) for m in moved] == [("cpt_search/moving", 1)]
        again = MlflowRecorder(store)  # what a resumed search or `cpt-search ui` does first
        again.search_started(SearchInfo(name="moving", kind="search", metric_name="val_accuracy",
                                        higher_is_better=True))
        experiment = again.client.get_experiment(again.experiment_id)
        assert experiment.artifact_location == (store.root / "mlruns" / "moving").as_uri()
        run = again.client.get_run(again.parent_run_id)
        assert run.info.artifact_uri.startswith((store.root / "mlruns" / "moving").as_uri() + "/")
        path = again.client.download_artifacts(again.parent_run_id, "space.yaml", str(tmp_path / f"dl_{folder}"))
        assert Path(path).read_text(encoding="utf-8") == "task: digits/mlp\n"
        assert relocate_artifacts(store) == []  # done once
    assert not (tmp_path / "original").exists()  # nothing was written back to where it came from
