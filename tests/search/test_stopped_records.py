"""A stopped trial in a real (in-memory) Optuna study: its record, progress counts and rung history."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from cpt_search.records import STOPPED, candidates, progress_of
from cpt_search.schedule import Schedule
from cpt_search.search.results import load_records
from cpt_search.search.scheduler import RUNG_METRICS_ATTR, STOPPED_ATTR, histories_from_study, schedule_cost


def study_with_a_stop():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"])
    schedule = Schedule(min_bits=4, max_bits=4, min_grad_bits=8, max_grad_bits=8).to_dict()
    done = study.ask()
    for key, value in {"schedule": schedule, "label": "static 4/8", RUNG_METRICS_ATTR: {"0.25": 0.6}}.items():
        done.set_user_attr(key, value)
    study.tell(done, [0.8, 1e9])
    stopped = study.ask()
    for key, value in {"schedule": schedule, "label": "static 4/8", RUNG_METRICS_ATTR: {"0.25": 0.2},
                       STOPPED_ATTR: {"rung": 1, "rung_frac": 0.25, "reason": "beaten by trial 0"}}.items():
        stopped.set_user_attr(key, value)
    study.tell(stopped, state=TrialState.PRUNED)
    foreign = study.ask()  # pruned by something else: not ours, counted as failed
    study.tell(foreign, state=TrialState.PRUNED)
    return study


def test_a_stopped_trial_is_its_own_status_and_never_a_candidate() -> None:
    records = load_records(study_with_a_stop())
    assert [r.status for r in records] == ["complete", STOPPED, "failed"]
    assert records[1].stopped_at_rung == 1 and records[1].finished and records[1].values is None
    assert records[1].error == "stopped at rung 1 (25% of training): beaten by trial 0"
    assert [c.trial for c in candidates(records)] == [0]
    progress = progress_of(records)
    assert (progress.complete, progress.stopped, progress.failed, progress.finished) == (1, 1, 1, 3)


def test_rung_histories_are_rebuilt_from_the_study() -> None:
    histories = histories_from_study(study_with_a_stop(), schedule_cost(1000))
    assert [(h.trial, h.final_metric, h.stopped, dict(h.rung_metrics)) for h in histories] == [
        (0, 0.8, False, {0.25: 0.6}), (1, None, True, {0.25: 0.2})]
    assert histories[0].cost == histories[1].cost > 0
