"""Early stopping end to end: a real search through Ray Tune, Optuna (SQLite) and MLflow, resumed.

The task (``tests/search/curve_task.py``) trains for real but evaluates to known learning curves, so
the right decisions are known: schedules at 7-8 bits end worse than every cheaper one and must be
stopped at a rung once enough trials finished; 3-6 bits make the front and must train to the end.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from cpt_search.pareto import pareto_mask
from tests.search.curve_task import final_value

SPACE = {
    "name": "curves", "task": "tests.search.curve_task:KnownCurves", "budget": "tiny",
    "trials": 6, "concurrency": 2, "sampler": {"name": "random", "seed": 3},
    "schedule": {"profile": "cosine", "num_cycles": 1, "min_bits": [3, 5, 7, 8],
                 "bits_span": 0, "min_grad_bits": [6, 7, 8]},
    "scheduler": {"name": "staircase", "rungs": [0.25, 0.5], "min_finished": 2},
}
EPOCHS = 8

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searched(ray_local, tmp_path_factory):
    """Run 6 trials, then resume the same search to 9; return both outcomes, events and messages."""
    from cpt_search.orchestrate.search import SearchRequest, run_search

    root = tmp_path_factory.mktemp("stopping")
    space_path = root / "curves.yaml"
    space_path.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    events, messages = [], []
    first = run_search(SearchRequest(space_path=space_path, store_dir=root / "store"),
                       on_progress=events.append, on_status=messages.append)
    split = len(events)
    second = run_search(SearchRequest(space_path=space_path, store_dir=root / "store", trials=9),
                        on_progress=events.append, on_status=messages.append)
    for event in events:  # shown with -s: what each trial did
        print(event.trial, event.status, event.label, event.metric, event.error)
    return first, second, events, split, messages


def trials_of(outcome):
    import optuna

    from cpt_search.search.resume import open_storage

    return optuna.load_study(study_name=outcome.name,
                             storage=open_storage(outcome.store.optuna_url)).get_trials()


def trained(trials):
    """The trials that trained (not reused), with their known final value and exact cost."""
    from cpt_search.search.scheduler import schedule_cost

    cost = schedule_cost(40)
    return [(t, final_value(t.user_attrs["schedule"]), cost(t.user_attrs["schedule"]))
            for t in trials if "reused_from" not in t.user_attrs]


def test_hopeless_trials_are_stopped_and_the_front_kept(searched) -> None:
    from optuna.trial import TrialState

    _, second, events, _, _ = searched
    rows = trained(trials_of(second))
    values = np.array([(final, cost) for _, final, cost in rows])
    on_true_front = pareto_mask(values, ("maximize", "minimize"))
    pruned = [t for t, _, _ in rows if t.state == TrialState.PRUNED]
    assert pruned, "no trial was stopped"
    for (trial, final, _), front in zip(rows, on_true_front):
        if trial.state == TrialState.PRUNED:
            assert not front and trial.user_attrs["schedule"]["max_bits"] >= 7
            assert trial.values is None and not trial.intermediate_values
            stop = trial.user_attrs["stopped_at_rung"]
            assert stop["rung"] in (1, 2) and stop["rung_frac"] in (0.25, 0.5)
            assert set(trial.user_attrs["rung_metrics"]) == {repr(f) for f in (0.25, 0.5)[:stop["rung"]]}
        else:
            assert trial.state == TrialState.COMPLETE, (trial.number, trial.state)
            assert trial.values[0] == pytest.approx(final)
    # Every front member of the search trained to the end and the front is the true one.
    # (a reused trial, told an identical schedule's result, may stand for it on the front).
    everything = trials_of(second)
    complete = {t.number for t in everything if t.state == TrialState.COMPLETE}
    members = {m.trial for m in second.front.members}
    assert members <= complete
    schedule_key = lambda t: (t.user_attrs["schedule"]["max_bits"], t.user_attrs["schedule"]["max_grad_bits"])  # noqa: E731
    true_front = {schedule_key(t) for (t, _, _), front in zip(rows, on_true_front) if front}
    assert {schedule_key(t) for t in everything if t.number in members} == true_front
    # Progress lines say where each stop happened; stopped trials count towards the target.
    stopped_events = [e for e in events if e.status == "stopped"]
    assert {e.trial for e in stopped_events} == {t.number for t in pruned}
    assert all(e.error.startswith("stopped at rung ") and e.metric is None for e in stopped_events)
    assert second.progress.stopped == len(pruned) and second.progress.finished == 9 and second.complete


def test_stopped_trials_are_killed_runs_tagged_with_their_rung(searched) -> None:
    from mlflow.tracking import MlflowClient

    _, second, _, _, _ = searched
    client = MlflowClient(second.store.tracking_uri)
    experiment = client.get_experiment_by_name(second.experiment).experiment_id
    runs = client.search_runs([experiment], "tags.stopped_at_rung != ''")
    stopped = {t.number: t for t in trials_of(second) if t.user_attrs.get("stopped_at_rung")}
    assert len(runs) == len(stopped)
    for run in runs:
        assert run.info.status == "KILLED" and run.data.tags["pareto_front"] == "false"
        assert run.data.tags["stop_reason"].startswith("stopped at rung")
        # Training was cut off at the rung: fewer epochs logged than the budget's.
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert 1 <= len(history) < EPOCHS


def test_resume_keeps_the_rung_state(searched) -> None:
    from cpt_search.search.scheduler import histories_from_study, schedule_cost

    first, second, events, split, messages = searched
    assert first.progress.finished == 6 and second.ran_now == 3
    # The second session started from the first one's rung metrics and finals ...
    said = [m for m in messages if m.startswith("early stopping: staircase")]
    assert len(said) == 2 and "restored" not in said[0]
    trained_first = [e for e in events[:split] if e.status in ("complete", "stopped")]  # not reused
    assert f"rung state of {len(trained_first)} earlier trial(s) restored" in said[1]
    import optuna

    from cpt_search.search.resume import open_storage

    study = optuna.load_study(study_name=first.name, storage=open_storage(first.store.optuna_url))
    first_numbers = {e.trial for e in trained_first}
    histories = {h.trial: h for h in histories_from_study(study, schedule_cost(40))}
    assert first_numbers <= set(histories)
    for number in first_numbers:
        h = histories[number]
        assert (h.final_metric is None) == h.stopped and 0.25 in h.rung_metrics
    # ... so a hopeless trial of the second session is stopped at its first rung, however few of
    # the second session's own trials had finished.
    late = [e for e in events[split:] if e.status == "stopped"]
    assert late and all(e.error.startswith("stopped at rung 1 ") for e in late)
