"""``cpt-search sync NAME``: MLflow made to agree with a search's Optuna study, after the fact.

The study is written with Optuna's own ``add_trial`` in the runner's format (as ``front``'s tests do)
and MLflow is a real SQLite store: the sync creates the missing runs, tags the front, is idempotent,
and removes a run created twice for one trial (what a lost server answer leaves).
"""

from __future__ import annotations

from pathlib import Path

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from cpt_search.cli import main
from tests.fuzz.refusal import assert_refused, run_in_process
from tests.search.test_cli_search import store  # noqa: F401 - the fixture: a study 'demo', 5 trials


def _children(root: Path, view: int = ViewType.ACTIVE_ONLY) -> list:
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cpt_search/demo")
    return client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'",
                              run_view_type=view)


def test_sync_records_the_study_then_changes_nothing(store: Path, capsys) -> None:  # noqa: F811
    assert main(["sync", "demo", "--store", str(store)]) == 0
    first = capsys.readouterr().out
    assert "5 finished trials, 5 trial runs in MLflow (5 repaired); the search is complete" in first
    runs = {int(r.data.tags["optuna_trial_number"]): r for r in _children(store)}
    assert sorted(runs) == [0, 1, 2, 3, 4]
    assert {n for n, r in runs.items() if r.data.tags["pareto_front"] == "true"} == {0, 1, 3}
    assert runs[4].info.status == "FAILED" and "TrialDiverged" in runs[4].data.tags["error"]
    assert runs[0].data.metrics["val_accuracy"] == 0.90 and runs[0].data.metrics["bitops"] == 4e9

    assert main(["sync", "demo", "--store", str(store)]) == 0
    assert "(0 repaired)" in capsys.readouterr().out
    assert len(_children(store)) == 5


def test_sync_deletes_a_run_created_twice(store: Path, capsys) -> None:  # noqa: F811
    assert main(["sync", "demo", "--store", str(store)]) == 0
    original = {int(r.data.tags["optuna_trial_number"]): r for r in _children(store)}[2]
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    twin = client.create_run(original.info.experiment_id, tags=dict(original.data.tags))
    assert len(_children(store)) == 6
    assert main(["sync", "demo", "--store", str(store)]) == 0
    capsys.readouterr()
    numbers = sorted(int(r.data.tags["optuna_trial_number"]) for r in _children(store))
    assert numbers == [0, 1, 2, 3, 4]
    [deleted] = _children(store, ViewType.DELETED_ONLY)
    assert deleted.info.run_id == twin.info.run_id
    assert deleted.data.tags["duplicate_of"] == original.info.run_id


def test_sync_refuses_bad_input_in_one_line(store: Path, tmp_path: Path, capsys) -> None:  # noqa: F811
    assert_refused(run_in_process(capsys, "sync", "../etc", "--store", str(store)), "NAME")
    assert_refused(run_in_process(capsys, "sync", "nosuch", "--store", str(store)), "known searches: demo")
    assert_refused(run_in_process(capsys, "sync", "demo", "--store", str(tmp_path / "empty")),
                   "no Optuna storage")
    outcome = run_in_process(capsys, "sync", "demo", "--store", str(store), "--tracking-uri",
                             "http://127.0.0.1:9")
    assert_refused(outcome, "http://127.0.0.1:9", "does not answer")
    assert outcome.seconds < 5
