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
    for epoch, metric in ((5, 0.5), (10, 0.85)):  # evaluated every 5 epochs: steps 5 and 10
        rec.trial_epoch(0, {"kind": "epoch", "seed": 0, "epoch": epoch, "loss": 1.0 / epoch,
                            "epoch_metric": metric, "epoch_accuracy": metric, "epoch_test_metric": metric - 0.05,
                            "mean_bits_so_far": 5.5, "bitops_so_far": 4e8 * epoch, "seconds": 0.1 * epoch})
    rec.trial_finished(complete(0, 0.9, 4e9, test_metric=0.85, test_metric_std=0.0, metric_std=0.0,
                                accuracy=0.9, seconds=1.2, epochs=2, final_epoch=10, seeds=1))
    failed = TrialRecord(number=1, status="failed", label="t1", schedule=static(2, 8).to_dict(),
                         baseline=False, error="TrialDiverged: step=3: the loss is nan")
    rec.trial_finished(failed, traceback_text="Traceback ...\nTrialDiverged")
    client, runs = children(store, name)
    by_number = {int(r.data.tags["optuna_trial_number"]): r for r in runs}
    done = by_number[0]
    assert done.info.status == "FINISHED"
    metrics = done.data.metrics
    assert metrics["val_accuracy"] == 0.9 and metrics["bitops"] == 4e9 and metrics["test_accuracy"] == 0.85
    assert (metrics["trial_seconds"], metrics["train_seconds"]) == (1.5, 1.2)
    # One name per quantity: the objective is val_accuracy, curve and summary alike; no copies under
    # other names, and no std of a single seed (it would read as "no noise").
    assert not {"accuracy", "metric", "metric_std", "epoch_val_accuracy", "epoch_accuracy", "seconds",
                "val_accuracy_std", "test_accuracy_std"} & set(metrics)
    assert not any(key.startswith("epoch_") for key in metrics)
    # The summary is logged at the last evaluated epoch (10), on the curves' step axis, not at the
    # number of evaluations (2).
    history = client.get_metric_history(done.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in history] == [(5, 0.5), (10, 0.85), (10, 0.9)]
    assert [(m.step, m.value) for m in client.get_metric_history(done.info.run_id, "test_accuracy")] == [
        (5, pytest.approx(0.45)), (10, pytest.approx(0.80)), (10, 0.85)]
    assert [m.step for m in client.get_metric_history(done.info.run_id, "bitops")] == [5, 10, 10]
    assert [m.step for m in client.get_metric_history(done.info.run_id, "relative_cost")] == [10]
    assert [a.path for a in client.list_artifacts(done.info.run_id)] == ["schedule.png"]
    bad = by_number[1]
    assert bad.info.status == "FAILED"
    assert bad.data.tags["error"] == "TrialDiverged: step=3: the loss is nan"
    assert bad.data.tags["pareto_front"] == "false"
    assert sorted(a.path for a in client.list_artifacts(bad.info.run_id)) == ["error.txt", "schedule.png"]
    rec.trial_finished(complete(0, 0.9, 4e9))  # idempotent: nothing logged twice
    assert len(client.get_metric_history(done.info.run_id, "val_accuracy")) == 3


def test_several_seeds_log_curves_per_seed_and_the_std(shared_store: Store) -> None:
    store, name = shared_store, "seeds"
    rec = MlflowRecorder(store)
    rec.search_started(SearchInfo(name=name, kind="search", metric_name="val_bpc", test_metric_name="test_bpc",
                                  higher_is_better=False, seeds=(0, 1)))
    started(rec, 0, label="t0", schedule=CR, baseline=False)
    for seed in (0, 1):
        rec.trial_epoch(0, {"kind": "epoch", "seed": seed, "epoch": 3, "loss": 1.0, "epoch_metric": 2.0 + seed,
                            "mean_bits_so_far": 5.5, "bitops_so_far": 1e9, "seconds": 0.5})
    rec.trial_finished(complete(0, 2.5, 1e9, metric_std=0.5, accuracy=0.3, seeds=2, final_epoch=3))
    _, runs = children(store, name)
    metrics = runs[0].data.metrics
    assert (metrics["val_bpc"], metrics["val_bpc_seed0"], metrics["val_bpc_seed1"]) == (2.5, 2.0, 3.0)
    assert metrics["val_bpc_std"] == 0.5
    assert metrics["val_accuracy"] == 0.3  # a language model's accuracy is its own quantity


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


def _finished_search(store: Store, name: str):
    """Four trials through the recorder, the search finished: (recorder, records)."""
    from cpt_search.presets import preset as make

    rec = recorder(store, name)
    schedules = [make(p, min_bits=3, max_bits=b).to_dict() for p, b in (("CR", 8), ("LR", 6), ("RR", 5), ("CT", 4))]
    values = [(0.90, 4e9), (0.89, 3e9), (0.85, 2e9), (0.70, 2.5e9)]
    records = []
    for number, (schedule, (metric, bitops)) in enumerate(zip(schedules, values)):
        started(rec, number, label=f"t{number}", schedule=schedule, baseline=number == 0)
        record = TrialRecord(number=number, status="complete", label=f"t{number}", schedule=schedule,
                             baseline=number == 0, values=(metric, bitops),
                             result={"relative_cost": bitops / 1e11, "fp32_bitops": 1e11, "epochs": 2,
                                     "final_epoch": 10, "seed_metrics": {"0": metric}, "test_metric": metric - 0.01})
        rec.trial_finished(record)
        records.append(record)
    cands = [r.candidate() for r in records]
    state = front_state(cands, True, 0.0)
    rec.front_updated(state, finished=4)
    rec.search_finished(records, cands, state, complete=True)
    return rec, records


def test_finished_search_describes_its_front_and_publishes_the_ui_view(shared_store: Store) -> None:
    import json

    from cpt_search.tracking.views import FRONT_VIEW_TAG, SHARED_VIEW_TAG_PREFIX

    rec, records = _finished_search(shared_store, "described")
    client = rec.client
    parent = client.get_run(rec.parent_run_id)
    note = parent.data.tags["mlflow.note.content"]
    assert note.count("`val_accuracy`") >= 1 and "maximise `val_accuracy`" in note
    assert "| 002 t2 | 0.8500 | 0.8400 | 0.0200 | 2.000 |" in note  # cheapest member first
    assert "| 001 t1 |" in note and "| 000 t0 * |" in note and "003 t3" not in note
    assert note.index("002 t2") < note.index("001 t1") < note.index("000 t0")
    assert "**Schedule labels**" in note
    experiment = client.get_experiment(rec.experiment_id)
    key = experiment.tags[FRONT_VIEW_TAG]
    state = json.loads(experiment.tags[SHARED_VIEW_TAG_PREFIX + key])
    assert state["searchFilter"] == 'tags.pareto_front = "true"' and state["orderByKey"] == "metrics.`bitops`"
    assert state["selectedColumns"][:2] == ["metrics.`val_accuracy`", "metrics.`relative_cost`"]
    assert "metrics.`relative_cost`" in state["selectedColumns"]
    # The filter of the view returns exactly the front's runs, whose columns hold metric and cost.
    front_runs = client.search_runs([rec.experiment_id], state["searchFilter"], order_by=["metrics.bitops ASC"])
    assert [r.data.tags["optuna_trial_number"] for r in front_runs] == ["2", "1", "0"]
    assert all({"val_accuracy", "relative_cost", "bitops"} <= set(r.data.metrics) for r in front_runs)


def test_front_confirmed_moves_tags_and_values_to_the_confirmed_front(shared_store: Store, tmp_path) -> None:
    import json

    from cpt_search.confirm import ConfirmSettings
    from cpt_search.records.confirmed import schedule_key, search_front
    from cpt_search.tracking.views import FRONT_VIEW_TAG, SHARED_VIEW_TAG_PREFIX

    rec, records = _finished_search(shared_store, "confirmed_ui")
    # On the confirm seeds trial 1 (0.89 on seed 0) is really 0.80: trial 2 is the better cheap schedule,
    # and trial 0 holds. Trial 1 drops off the confirmed front.
    truth = {0: 0.90, 1: 0.80, 2: 0.85, 3: 0.70}
    values = {schedule_key(r.schedule): {seed: truth[r.number] + 0.002 * seed for seed in (1, 2, 3)}
              for r in records}
    settings = ConfirmSettings(seeds=(1, 2, 3), max_trainings=12)
    front = search_front(records, metric_name="val_accuracy", higher_is_better=True, reference_metric=0.0,
                         settings=settings, confirm_values=values)
    assert [c.trial for c in front.members] == [2, 0]
    again = MlflowRecorder(shared_store)  # as `cpt-search confirm` does: a fresh recorder
    again.search_started(SearchInfo(name="confirmed_ui", kind="search", metric_name="val_accuracy",
                                    test_metric_name="test_accuracy", higher_is_better=True))
    again.front_confirmed(records, front)
    client, runs = children(shared_store, "confirmed_ui")
    by_number = {int(r.data.tags["optuna_trial_number"]): r for r in runs}
    assert {n for n, r in by_number.items() if r.data.tags["pareto_front"] == "true"} == {0, 2}
    member = by_number[2].data
    assert member.metrics["n_seeds"] == 4 and member.tags["confirm_status"] in ("on", "undecided")
    assert member.metrics["val_accuracy_ci_low"] <= member.metrics["val_accuracy_seed_mean"] <= member.metrics[
        "val_accuracy_ci_high"]
    assert 0 <= member.metrics["p_front"] <= 1 and "val_accuracy_confirmed" in member.metrics
    assert member.metrics["val_accuracy"] == 0.85  # the search-seed value stays what it was
    assert by_number[1].data.tags["confirm_status"] in ("off", "undecided") and by_number[1].data.tags["confirm_why"]
    note = client.get_run(rec.parent_run_id).data.tags["mlflow.note.content"]
    assert "Seed-confirmed Pareto front" in note and "95 % interval" in note and "P(front)" in note
    assert "| 002 t2 |" in note and "001 t1" not in note and "seeds 1, 2, 3" in note
    experiment = client.get_experiment(rec.experiment_id)
    state = json.loads(experiment.tags[SHARED_VIEW_TAG_PREFIX + experiment.tags[FRONT_VIEW_TAG]])
    assert state["selectedColumns"][0] == "metrics.`val_accuracy_confirmed`"
    assert "metrics.`p_front`" in state["selectedColumns"]
    path = client.download_artifacts(rec.parent_run_id, "pareto_front.json", str(tmp_path))
    document = json.loads(open(path, encoding="utf-8").read())
    assert document["confirmed"] is True and document["confirm_seeds"] == [1, 2, 3]
    assert [row["trial"] for row in document["front"]] == [2, 0] and document["front"][0]["n_seeds"] == 4
    history = client.get_metric_history(rec.parent_run_id, "hypervolume_confirmed")
    assert [m.value for m in history] == [pytest.approx(front.hypervolume)]
