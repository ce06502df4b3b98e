"""MLflow recording against a real SQLite tracking store: no duplicates, repair after a crash, front tags."""

from __future__ import annotations


import pytest

from mlflow.entities import ViewType

from cpt_search.observers import SearchInfo
from cpt_search.presets import preset, static
from cpt_search.records import TrialRecord, front_state
from cpt_search.store import Store
from cpt_search.tracking.recorder import MlflowRecorder

CR = preset("CR").to_dict()


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Store:
    """One tracking database for the module: creating a fresh MLflow SQLite DB takes seconds."""
    return Store.at(tmp_path_factory.mktemp("mlflow") / "store").create()


def recorder(store: Store, name: str) -> MlflowRecorder:
    rec = MlflowRecorder(store)
    rec.search_started(SearchInfo(name=name, kind="search", metric_name="val_accuracy",
                                  test_metric_name="test_accuracy", higher_is_better=True, params={"task": "digits/mlp", "seeds": [0]},
                                  space_yaml="task: digits/mlp\n"))
    return rec


def started(rec: MlflowRecorder, number: int, *, label: str, schedule, baseline: bool,
            ray_trial_id: str | None = None) -> str:
    rec.trial_started(TrialRecord(number=number, status="running", label=label, schedule=schedule,
                                  baseline=baseline, ray_trial_id=ray_trial_id))
    return rec.run_id(number)


def complete(number: int, metric: float, bitops: float, **extra) -> TrialRecord:
    result = {"relative_cost": bitops / 1e11, "fp32_bitops": 1e11, "total_steps": 40, "epochs": 2,
              "trial_seconds": 1.5, **extra}
    return TrialRecord(number=number, status="complete", label=f"t{number}", schedule=CR,
                       baseline=False, values=(metric, bitops), result=result)


def children(store: Store, name: str, view=ViewType.ACTIVE_ONLY):
    rec = MlflowRecorder(store)
    experiment = rec.client.get_experiment_by_name(f"cpt_search/{name}")
    return rec.client, rec.client.search_runs([experiment.experiment_id],
                                              "tags.cpt_search_role = 'trial'", run_view_type=view)


def test_experiment_and_parent_are_created_once(shared_store: Store) -> None:
    store, name = shared_store, "once"
    first = recorder(store, name)
    second = recorder(store, name)  # a resumed search
    assert (first.experiment_id, first.parent_run_id) == (second.experiment_id, second.parent_run_id)
    client = first.client
    experiment = client.get_experiment(first.experiment_id)
    assert experiment.name == f"cpt_search/{name}"
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert experiment.artifact_location == (store.root / "mlruns" / name).as_uri()
    parent = client.get_run(first.parent_run_id)
    assert parent.data.params["task"] == "digits/mlp"
    assert parent.data.tags["version.optuna"] == "5.0.0"
    assert [a.path for a in client.list_artifacts(first.parent_run_id)] == ["space.yaml"]


def test_child_run_is_looked_up_by_trial_number(shared_store: Store) -> None:
    store, name = shared_store, "lookup"
    first = recorder(store, name)
    run_id = started(first, 0, label="CR", schedule=CR, baseline=True, ray_trial_id="abc")
    assert started(first, 0, label="CR", schedule=CR, baseline=True) == run_id
    after_restart = recorder(store, name)
    assert started(after_restart, 0, label="CR", schedule=CR, baseline=True,
                                       ray_trial_id="def") == run_id
    client, runs = children(store, name)
    assert len(runs) == 1
    tags = runs[0].data.tags
    assert tags["mlflow.parentRunId"] == first.parent_run_id
    assert (tags["optuna_trial_number"], tags["baseline"], tags["trial_id"]) == ("0", "true", "def")
    assert runs[0].data.params["profile"] == "cosine" and runs[0].data.params["num_cycles"] == "8"


def test_finished_and_failed_trials(shared_store: Store) -> None:
    store, name = shared_store, "finished"
    rec = recorder(store, name)
    started(rec, 0, label="t0", schedule=CR, baseline=False)
    rec.trial_epoch(0, {"kind": "epoch", "seed": 0, "epoch": 1, "loss": 1.0, "epoch_metric": 0.5,
                        "epoch_accuracy": 0.5, "epoch_test_metric": 0.45, "mean_bits_so_far": 5.5,
                        "bitops_so_far": 1e9, "seconds": 0.5})
    rec.trial_finished(complete(0, 0.9, 4e9, test_metric=0.85, test_metric_std=0.01))
    failed = TrialRecord(number=1, status="failed", label="t1", schedule=static(2, 8).to_dict(),
                         baseline=False, error="TrialDiverged: step=3: the loss is nan")
    rec.trial_finished(failed, traceback_text="Traceback ...\nTrialDiverged")
    client, runs = children(store, name)
    by_number = {int(r.data.tags["optuna_trial_number"]): r for r in runs}
    done = by_number[0]
    assert done.info.status == "FINISHED"
    assert done.data.metrics["val_accuracy"] == 0.9 and done.data.metrics["bitops"] == 4e9
    assert done.data.metrics["test_accuracy"] == 0.85 and done.data.metrics["test_accuracy_std"] == 0.01
    assert done.data.metrics["seconds"] == 1.5
    history = client.get_metric_history(done.info.run_id, "epoch_val_accuracy")
    assert [(m.step, m.value) for m in history] == [(1, 0.5)]
    history = client.get_metric_history(done.info.run_id, "epoch_test_accuracy")
    assert [(m.step, m.value) for m in history] == [(1, 0.45)]
    assert [a.path for a in client.list_artifacts(done.info.run_id)] == ["schedule.png"]
    bad = by_number[1]
    assert bad.info.status == "FAILED"
    assert bad.data.tags["error"] == "TrialDiverged: step=3: the loss is nan"
    assert bad.data.tags["pareto_front"] == "false"
    assert sorted(a.path for a in client.list_artifacts(bad.info.run_id)) == ["error.txt", "schedule.png"]
    rec.trial_finished(complete(0, 0.9, 4e9))  # idempotent: nothing logged twice
    assert len(client.get_metric_history(done.info.run_id, "val_accuracy")) == 1


def test_sync_repairs_mlflow_after_a_crash(shared_store: Store) -> None:
    store, name = shared_store, "repair"
    crashed = recorder(store, name)
    for number in (0, 1, 2):  # three trials were running when the driver was killed
        started(crashed, number, label=f"t{number}", schedule=CR, baseline=False)
    records = [
        complete(0, 0.9, 4e9),  # told to Optuna just before the crash, never logged
        TrialRecord(number=1, status="interrupted", label="t1", schedule=CR, baseline=False),
        TrialRecord(number=2, status="failed", label="t2", schedule=CR, baseline=False, error="boom"),
        complete(3, 0.8, 2e9),  # no MLflow run at all
        TrialRecord(number=4, status="infeasible", label="t4", schedule=CR, baseline=False,
                    relative_cost=0.06),
        TrialRecord(number=5, status="waiting", label="t5", schedule=CR, baseline=False),
    ]
    resumed = recorder(store, name)
    assert resumed.repair(records) == 5
    assert recorder(store, name).repair(records) == 0  # a second resume has nothing to fix
    client, runs = children(store, name)
    status = {int(r.data.tags["optuna_trial_number"]): r.info.status for r in runs}
    assert status == {0: "FINISHED", 2: "FAILED", 3: "FINISHED", 4: "KILLED"}
    _, everything = children(store, name, ViewType.ALL)
    deleted = [r for r in everything if r.info.lifecycle_stage == "deleted"]
    assert [(r.data.tags["optuna_trial_number"], r.data.tags["interrupted"]) for r in deleted] == [("1", "true")]


def test_front_tags_and_hypervolume_history(shared_store: Store) -> None:
    store, name = shared_store, "front"
    rec = recorder(store, name)
    first = [complete(0, 0.80, 4e9)]
    for record in first:
        rec.trial_finished(record)
    rec.front_updated(front_state([r.candidate() for r in first], True, 0.0), finished=1)
    both = first + [complete(1, 0.90, 3e9)]  # dominates trial 0
    rec.trial_finished(both[1])
    state = front_state([r.candidate() for r in both], True, 0.0)
    rec.front_updated(state, finished=2)
    recorder(store, name).front_updated(state, finished=2)  # resumed: step 2 is not logged again
    client, runs = children(store, name)
    tags = {int(r.data.tags["optuna_trial_number"]): (r.data.tags["pareto_front"], r.data.tags["pareto_rank"])
            for r in runs}
    assert tags == {0: ("false", "1"), 1: ("true", "0")}
    history = client.get_metric_history(rec.parent_run_id, "hypervolume")
    assert [m.step for m in history] == [1, 2]
    assert history[1].value == pytest.approx(0.90 * (1 - 0.03))  # (metric - 0) * (1 - cost fraction)
    params = client.get_run(rec.parent_run_id).data.params
    assert (params["hv_reference_metric"], params["hv_reference_cost_fraction"]) == ("0.0", "1.0")
