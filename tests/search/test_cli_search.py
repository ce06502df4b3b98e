"""``cpt-search front | export | ui | run`` on the command line.

``front`` and ``export`` read the Optuna storage only, so a study is written here with Optuna's own
``add_trial`` in the format the runner leaves (user attrs ``schedule``, ``label``, ``result``, ...).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from cpt_search.cli import main
from cpt_search.export import load_schedule_document
from cpt_search.presets import preset, static
from cpt_search.search.resume import open_storage, open_study
from cpt_search.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]


def add(study, metric, bitops, schedule, label, *, baseline=False, state="complete", attrs=None):
    dist = optuna.distributions.IntDistribution(1, 8)
    user_attrs = {"schedule": schedule.to_dict(), "label": label, "baseline": baseline,
                  "relative_cost": bitops / 1e11, **(attrs or {})}
    if state == "complete":
        user_attrs["result"] = {"relative_cost": bitops / 1e11, "relative_cost_vs_8_8": bitops / 6.25e9,
                                "fp32_bitops": 1e11, "test_metric": metric - 0.01}
        trial = optuna.trial.create_trial(values=[metric, bitops], params={"min_bits": 3},
                                          distributions={"min_bits": dist}, user_attrs=user_attrs)
    else:
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, params={"min_bits": 3},
                                          distributions={"min_bits": dist}, user_attrs=user_attrs)
    study.add_trial(trial)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    where = Store.at(root).create()
    study = open_study(open_storage(where.optuna_url), "demo", ("maximize", "minimize"))
    study.set_user_attr("metric_name", "val_accuracy")
    study.set_user_attr("test_metric_name", "test_accuracy")
    study.set_user_attr("task", "digits/mlp")
    study.set_user_attr("budget", "tiny")
    add(study, 0.90, 4e9, preset("CR"), "CR", baseline=True)        # 0: front
    add(study, 0.93, 6.25e9, static(8, 8), "static 8/8", baseline=True)  # 1: front
    add(study, 0.85, 5e9, preset("LR", min_bits=4), "LR 4-8/8 n=8")  # 2: dominated by 0
    add(study, 0.80, 2e9, preset("RR"), "RR 3-8/8 n=8")            # 3: front
    add(study, 0, 0, preset("CR", min_bits=1), "CR 1-8/8 n=8", state="failed",
        attrs={"error": "TrialDiverged: the loss is nan"})
    return root


def test_front_table(store: Path, capsys) -> None:
    assert main(["front", "demo", "--store", str(store)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("search 'demo': digits/mlp (tiny), 5 finished trials, front of 3, hypervolume ")
    assert out[1].split() == ["trial", "val_accuracy", "test_accuracy", "GBitOPs", "rel.cost", "vs", "8/8",
                              "schedule"]
    assert [line.split()[0] for line in out[2:5]] == ["3", "0", "1"]  # cheapest first
    assert out[3].split() == ["0", "0.9000", "0.8900", "4.000", "0.0400", "0.640", "*CR"]
    assert out[5] == "(* = an enqueued paper preset or static baseline)"
    assert out[6] == "(the front is selected on val_accuracy; test_accuracy is reported, never used to select)"


def test_front_json_and_csv(store: Path, capsys) -> None:
    assert main(["front", "demo", "--store", str(store), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["trial"] for row in data["front"]] == [3, 0, 1]
    assert data["metric_name"] == "val_accuracy" and data["higher_is_better"] is True
    assert data["test_metric_name"] == "test_accuracy"
    assert [row["test_accuracy"] for row in data["front"]] == pytest.approx([0.79, 0.89, 0.92])
    assert data["front"][1]["schedule"] == preset("CR").to_dict()
    assert main(["front", "demo", "--store", str(store), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("trial,label,val_accuracy,test_accuracy,bitops,relative_cost,relative_cost_vs_8_8,"
                        "baseline,schedule")
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "0", "1"]


@pytest.mark.parametrize("pick, trial", [("knee", 0), ("max-metric", 1), ("min-bitops", 3)])
def test_export_picks(store: Path, tmp_path: Path, pick: str, trial: int, capsys) -> None:
    out = tmp_path / "best.yaml"
    assert main(["export", "demo", "--store", str(store), "--pick", pick, "-o", str(out)]) == 0
    schedule, provenance = load_schedule_document(out)
    expected = {0: preset("CR"), 1: static(8, 8), 3: preset("RR")}[trial]
    assert schedule == expected
    assert provenance["trial"] == trial and provenance["pick"] == pick
    assert set(provenance) >= {"search", "trial", "metric", "metric_name", "bitops", "relative_cost",
                               "cpt_search_version", "exported_at"}
    assert provenance["metric_name"] == "val_accuracy" and provenance["test_metric_name"] == "test_accuracy"
    assert provenance["test_metric"] == pytest.approx(provenance["metric"] - 0.01)
    assert f"wrote {out}: trial {trial}" in capsys.readouterr().out


def test_export_filters(store: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "best.yaml"
    assert main(["export", "demo", "--store", str(store), "--pick", "max-metric",
                 "--max-relative-cost", "0.05", "-o", str(out)]) == 0
    assert load_schedule_document(out)[1]["trial"] == 0
    assert main(["export", "demo", "--store", str(store), "--pick", "min-bitops",
                 "--min-metric", "0.86", "-o", str(out)]) == 0
    assert load_schedule_document(out)[1]["trial"] == 0


def test_export_with_no_matching_point_is_one_line(store: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "none.yaml"
    assert main(["export", "demo", "--store", str(store), "--max-relative-cost", "0.01",
                 "--min-metric", "0.95", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not out.exists()
    assert err.startswith("error: export demo: {'max_relative_cost': 0.01, 'min_metric': 0.95}: "
                          "no finished trial satisfies the filters; loosen them")


def test_unknown_search_names_the_known_ones(store: Path, capsys) -> None:
    assert main(["front", "demx", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {store}: name='demx': no search of this name in the store; known searches: demo\n"
    assert main(["front", "demo", "--store", str(store.parent / "empty")]) == 2
    assert "run 'cpt-search run SPACE.yaml' first" in capsys.readouterr().err


def test_run_argument_errors(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "missing.yaml"), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.yaml" in err and err.count("\n") == 1
    assert main(["run", str(tmp_path / "x.yaml"), "--trials", "0"]) == 2
    assert "--trials" in capsys.readouterr().err


def test_ui_without_a_store_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["ui", "--store", str(tmp_path / "nothing")]) == 2
    assert "no MLflow database in the store" in capsys.readouterr().err


def test_ui_links_only_prints_the_links_and_starts_nothing(tmp_path: Path, capsys) -> None:
    from cpt_search.observers import SearchInfo
    from cpt_search.tracking.recorder import MlflowRecorder

    where = Store.at(tmp_path / "store").create()
    MlflowRecorder(where).search_started(SearchInfo(name="demo", kind="search",
                                                    metric_name="val_accuracy", higher_is_better=True))
    with socket.socket() as busy:  # even on a port in use: nothing is served
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        assert main(["ui", "--store", str(where.root), "--port", str(port), "--links-only"]) == 0
    out = capsys.readouterr().out
    assert "MLflow UI:" not in out and "cpt_search/demo\n" in out
    assert f"  runs    http://127.0.0.1:{port}/#/experiments/" in out and "workflowType=machine_learning" in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_ui_serves_the_store_on_loopback(tmp_path: Path) -> None:
    from cpt_search.observers import SearchInfo
    from cpt_search.tracking.recorder import MlflowRecorder

    where = Store.at(tmp_path / "store").create()
    MlflowRecorder(where).search_started(SearchInfo(name="demo", kind="search",
                                                    metric_name="val_accuracy", higher_is_better=True))
    open_study(open_storage(where.optuna_url), "demo", ("maximize", "minimize"))
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "cpt_search", "ui", "--store", str(where.root),
                                "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name=cpt_search/demo"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "mlflow ui did not come up"
                time.sleep(1)
        assert body["experiment"]["name"] == "cpt_search/demo"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"MLflow UI: http://127.0.0.1:{port}" in output
    assert "\ncpt_search/demo\n" in output  # each experiment, then its links
    assert f"  runs    http://127.0.0.1:{port}/#/experiments/" in output and "workflowType=machine_learning" in output
