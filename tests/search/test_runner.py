"""End to end: a real search through Ray Tune, Optuna (SQLite) and MLflow (SQLite), then export.

One local Ray for the module. The space is chosen so one search shows every outcome: ``random``
sampling (seed 7) of cosine/linear schedules under ``max_relative_cost: 0.05``, of a user task named by
import string (``tests/search/failing_task.py``) whose loss raises at 2 bits. Schedules over the cost
limit are skipped untrained; a schedule reaching 2 bits raises inside the Ray worker (a real failure,
not a mock) and the search must record it and go on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cpt_search.export import load_schedule, load_schedule_document
from cpt_search.pareto import pareto_mask
from cpt_search.quant import native
from cpt_search.schedule import Schedule

SPACE = {
    "name": "mixed", "task": "tests.search.failing_task:FailsAtTwoBits", "budget": "tiny",
    "trials": 4, "concurrency": 2, "sampler": {"name": "random", "seed": 7},
    "constraints": {"max_relative_cost": 0.05},
    "schedule": {"profile": ["cosine", "linear"], "num_cycles": [2, 3],
                 "min_bits": {"low": 2, "high": 8}, "bits_span": {"low": 0, "high": 3}},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searched(ray_local, tmp_path_factory):
    """Run the search once; return (request, outcome, progress events)."""
    from cpt_search.orchestrate.search import SearchRequest, run_search

    root = tmp_path_factory.mktemp("search")
    space_path = root / "mixed.yaml"
    space_path.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    request = SearchRequest(space_path=space_path, store_dir=root / "store")
    events = []
    outcome = run_search(request, on_progress=events.append)
    return request, outcome, events


def mlflow_client(outcome):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(outcome.store.tracking_uri)
    return client, client.get_experiment_by_name(outcome.experiment).experiment_id


def study_records(outcome):
    import optuna

    from cpt_search.search.results import load_records
    from cpt_search.search.resume import open_storage

    return load_records(optuna.load_study(study_name=outcome.name,
                                          storage=open_storage(outcome.store.optuna_url)))


def test_every_outcome_is_recorded_in_optuna(searched) -> None:
    _, outcome, events = searched
    records = study_records(outcome)
    statuses = [r.status for r in records]
    assert outcome.complete and outcome.progress.finished == 4 == outcome.target_trials
    assert statuses.count("complete") >= 1 and statuses.count("failed") >= 1
    assert statuses.count("infeasible") >= 1
    assert set(statuses) <= {"complete", "failed", "infeasible"}
    for record in records:
        if record.status == "failed":  # FAIL with the reason, never bogus values
            assert record.values is None
            assert "RuntimeError" in record.error and "cannot train at 2 bits" in record.error
            assert record.schedule["min_bits"] == 2
        elif record.status == "infeasible":  # never trained, told to the sampler as infeasible
            assert record.relative_cost > 0.05 and not record.result
        else:
            assert record.schedule["min_bits"] > 2 and record.relative_cost <= 0.05
            assert record.values == (record.result["metric"], record.result["bitops"])
            assert 0.0 < record.values[0] <= 1.0 and record.result["total_steps"] == 44
    # one progress row per finished or skipped trial, the last one with the final front
    assert sorted(e.trial for e in events) == [r.number for r in records]
    assert max(e.finished for e in events) == 4
    last = max(events, key=lambda e: (e.finished, e.trial))
    assert last.hypervolume == pytest.approx(outcome.front.hypervolume)


def test_mlflow_parent_children_front_and_hypervolume(searched) -> None:
    _, outcome, _ = searched
    client, experiment_id = mlflow_client(outcome)
    records = {r.number: r for r in study_records(outcome)}
    parents = client.search_runs([experiment_id], "tags.cpt_search_role = 'search'")
    assert len(parents) == 1 and parents[0].info.run_id == outcome.parent_run_id
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["task"] == SPACE["task"] and parent.data.params["sampler"] == "random"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert artifacts == {"space.yaml", "trials.csv", "pareto_front.csv", "pareto_front.json",
                         "pareto_front.png", "pareto_front.html"}
    history = client.get_metric_history(parent.info.run_id, "hypervolume")
    assert [m.step for m in history] == [1, 2, 3, 4]  # one point per finished trial
    assert history[-1].value == pytest.approx(outcome.front.hypervolume)

    runs = client.search_runs([experiment_id], "tags.cpt_search_role = 'trial'")
    by_number = {int(r.data.tags["optuna_trial_number"]): r for r in runs}
    assert sorted(by_number) == sorted(records) and len(runs) == len(records)  # one run per trial
    expected_status = {"complete": "FINISHED", "failed": "FAILED", "infeasible": "KILLED"}
    for number, run in by_number.items():
        record = records[number]
        assert run.info.status == expected_status[record.status]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["label"] == record.label
        assert int(run.data.params["num_cycles"]) == record.schedule["num_cycles"]
        if record.status == "failed":
            assert "cannot train at 2 bits" in run.data.tags["error"]
        if record.status == "infeasible":
            assert run.data.tags["infeasible"] == "true"
        if record.status == "complete":
            assert run.data.tags["trial_id"]  # the Ray trial that ran it
            assert run.data.metrics["val_accuracy"] == pytest.approx(record.values[0])
            # The test metric is on every child run, beside (never instead of) the objective.
            assert run.data.metrics["test_accuracy"] == pytest.approx(record.test_metric)
            # One name per quantity: each curve (steps = evaluated epochs) ends with the summary at
            # the last epoch, on the same step axis.
            for name in ("val_accuracy", "test_accuracy", "bitops"):
                curve = client.get_metric_history(run.info.run_id, name)
                assert [m.step for m in curve] == [1, 2, 2]
            assert not any(key.startswith("epoch_") or key == "accuracy" for key in run.data.metrics)
            assert "schedule.png" in {a.path for a in client.list_artifacts(run.info.run_id)}

    # The front tags agree with the Pareto mask of the finished children's own metrics.
    finished = [r for r in runs if r.info.status == "FINISHED"]
    values = np.array([[r.data.metrics["val_accuracy"], r.data.metrics["bitops"]] for r in finished])
    mask = pareto_mask(values, ("maximize", "minimize"))
    assert [r.data.tags["pareto_front"] == "true" for r in finished] == list(mask)
    assert all(r.data.tags["pareto_front"] == "false" for r in runs if r.info.status != "FINISHED")
    kernels = "native" if native.available() else "eager"
    assert all(r.data.tags["device"] == "cpu" and r.data.tags["quant_kernels"] == kernels for r in finished)
    front_numbers = sorted(int(r.data.tags["optuna_trial_number"]) for r, on in zip(finished, mask) if on)
    assert front_numbers == sorted(c.trial for c in outcome.front.members)
    tagged = client.search_runs([experiment_id], 'tags.pareto_front = "true"')  # the UI filter
    assert sorted(int(r.data.tags["optuna_trial_number"]) for r in tagged) == front_numbers


def test_export_round_trip(searched, tmp_path: Path) -> None:
    from cpt_search.cli import main

    request, outcome, _ = searched
    out = tmp_path / "best.yaml"
    assert main(["export", "mixed", "--store", str(request.store_dir), "--pick", "max-metric",
                 "-o", str(out)]) == 0
    schedule, provenance = load_schedule_document(out)
    best = max(outcome.front.members, key=lambda c: (c.metric, -c.bitops))
    assert provenance["trial"] == best.trial and provenance["search"] == "mixed"
    assert provenance["metric"] == best.metric and provenance["bitops"] == best.bitops
    assert provenance["metric_name"] == "val_accuracy" and provenance["cpt_search_version"]
    assert provenance["test_metric_name"] == "test_accuracy"
    assert provenance["test_metric"] == pytest.approx(best.extra["test_metric"])
    record = {r.number: r for r in study_records(outcome)}[best.trial]
    assert load_schedule(out) == schedule == Schedule.from_dict(record.schedule)


def test_rerun_of_a_finished_search_changes_nothing(searched) -> None:
    from cpt_search.orchestrate.search import run_search

    request, outcome, _ = searched
    client, experiment_id = mlflow_client(outcome)
    before = len(client.search_runs([experiment_id], ""))
    again = run_search(request)
    assert again.ran_now == 0 and again.complete and again.parent_run_id == outcome.parent_run_id
    assert len(client.search_runs([experiment_id], "")) == before
    assert len(client.get_metric_history(outcome.parent_run_id, "hypervolume")) == 4
    assert [c.trial for c in again.front.members] == [c.trial for c in outcome.front.members]


REPEATS = {
    "name": "repeats", "task": "digits/mlp", "budget": "tiny", "trials": 5, "concurrency": 1,
    "sampler": {"name": "random", "seed": 0},
    # two distinct schedules only: the sampler must repeat itself
    "schedule": {"min_bits": [3, 4], "max_bits": 6, "num_cycles": 2},
}


@pytest.fixture(scope="module")
def repeated(ray_local, tmp_path_factory):
    """A search whose space holds two schedules, asked for five trials."""
    from cpt_search.orchestrate.search import SearchRequest, run_search

    root = tmp_path_factory.mktemp("repeats")
    space_path = root / "repeats.yaml"
    space_path.write_text(yaml.safe_dump(REPEATS), encoding="utf-8")
    events = []
    outcome = run_search(SearchRequest(space_path=space_path, store_dir=root / "store"),
                         on_progress=events.append)
    return outcome, events


def test_an_identical_schedule_is_not_trained_twice(repeated) -> None:
    outcome, events = repeated
    records = study_records(outcome)
    assert outcome.complete and outcome.progress.finished == 5 == len(records)
    assert all(r.status == "complete" for r in records)
    trained = [r for r in records if r.reused_from is None]
    reused = [r for r in records if r.reused_from is not None]
    assert len(trained) <= 2 and len(reused) >= 3  # five trials, two distinct schedules
    # one training per distinct schedule, in a Ray trial of its own; the rest reuse its result
    assert len({tuple(sorted(r.schedule.items())) for r in records}) == len(trained)
    assert all(r.ray_trial_id for r in trained) and not any(r.ray_trial_id for r in reused)
    by_number = {r.number: r for r in records}
    for record in reused:
        source = by_number[record.reused_from]
        assert source.reused_from is None and source.schedule == record.schedule
        assert record.values == source.values and record.result == source.result
    assert sorted(e.status for e in events if e.status == "reused") == ["reused"] * len(reused)
    # MLflow: one child run per Optuna trial, the reused ones tagged with their source
    client, experiment_id = mlflow_client(outcome)
    children = client.search_runs([experiment_id], "tags.cpt_search_role = 'trial'")
    assert len(children) == 5 and all(run.info.status == "FINISHED" for run in children)
    tagged = {run.data.tags.get("optuna_trial_number"): run.data.tags.get("reused_from")
              for run in children}
    assert {int(k): int(v) for k, v in tagged.items() if v is not None} == \
        {r.number: r.reused_from for r in reused}
