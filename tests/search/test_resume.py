"""Resume: the Optuna study is the source of truth; an interrupted search continues without duplicates.

The unit tests leave a trial RUNNING exactly as a killed driver does (asked, never told) in a real
SQLite-backed study; the end-to-end test interrupts the real CLI with SIGINT and reruns it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from cpt_search.records import progress_of
from cpt_search.search.resume import enqueue_baselines_once, open_storage, open_study, reconcile_interrupted
from cpt_search.search.results import load_records
from cpt_search.search.suggest import suggest_schedule
from cpt_search.space import parse_space

REPO_ROOT = Path(__file__).resolve().parents[2]
SPACE = {
    "name": "resume", "task": "digits/mlp", "budget": "tiny", "trials": 4, "concurrency": 2,
    "sampler": {"name": "random", "seed": 5},
    "schedule": {"profile": ["cosine", "linear"], "num_cycles": [2, 3],
                 "min_bits": {"low": 3, "high": 6}, "bits_span": {"low": 0, "high": 2}},
}


@pytest.fixture()
def study(tmp_path: Path) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'optuna.db'}")
    return open_study(storage, "resume", ("maximize", "minimize"), optuna.samplers.RandomSampler(seed=1))


def test_stale_running_trial_is_failed_and_its_schedule_enqueued_again(study: optuna.Study) -> None:
    space = parse_space(SPACE)
    done = study.ask()
    done_schedule = suggest_schedule(space, done)
    study.tell(done, [0.9, 1e9])
    stale = study.ask()  # what a SIGKILL leaves behind: asked, never told
    stale_schedule = suggest_schedule(space, stale)

    assert reconcile_interrupted(study) == [stale.number]
    assert reconcile_interrupted(study) == []  # idempotent
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]
    assert trials[1].user_attrs["interrupted"] is True
    assert trials[1].user_attrs["error"].startswith("interrupted")
    assert trials[2].user_attrs == {"retry_of": stale.number}  # replayed from its parameters

    retry = study.ask()  # the enqueued retry is asked first and replays the same schedule
    assert retry.number == trials[2].number
    assert suggest_schedule(space, retry) == stale_schedule != done_schedule
    assert retry.params == stale.params
    statuses = [r.status for r in load_records(study)]
    assert statuses == ["complete", "interrupted", "running"]
    progress = progress_of(load_records(study))
    assert (progress.finished, progress.interrupted) == (1, 1)


def test_interrupted_retry_keeps_the_original_trial_number(study: optuna.Study) -> None:
    space = parse_space(SPACE)
    first = study.ask()
    suggest_schedule(space, first)
    reconcile_interrupted(study)
    second = study.ask()
    suggest_schedule(space, second)
    reconcile_interrupted(study)  # interrupted twice: the retry still points at the first trial
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert [t.user_attrs["retry_of"] for t in waiting] == [first.number]


def test_baselines_are_enqueued_once(study: optuna.Study) -> None:
    space = parse_space(dict(SPACE, include_baselines=True))
    count = len(space.baseline_schedules())
    assert enqueue_baselines_once(study, space) == count == 12  # 10 presets, static 8/8, FP32
    assert enqueue_baselines_once(study, space) == 0  # a resume does not enqueue them again
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == count
    assert all(t.user_attrs["baseline"] is True for t in waiting)
    assert [t.user_attrs["label"] for t in waiting][:2] == ["CR", "CT"]
    assert enqueue_baselines_once(study, parse_space(SPACE)) == 0


def test_study_with_other_directions_is_refused(tmp_path: Path) -> None:
    from cpt_search.errors import TrackingError

    storage = open_storage(f"sqlite:///{tmp_path / 'optuna.db'}")
    open_study(storage, "x", ("maximize", "minimize"))
    with pytest.raises(TrackingError, match="a search of this name exists with other objective directions"):
        open_study(storage, "x", ("minimize", "minimize"))


# ---------------------------------------------------------------------- the real CLI, interrupted


def _cli(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "cpt_search", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_ctrl_c_then_rerun_completes_without_duplicates(tmp_path: Path) -> None:
    import yaml
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    space_path = tmp_path / "resume.yaml"
    space_path.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    store = tmp_path / "store"
    args = ["run", str(space_path), "--store", str(store)]

    first = _cli(args)
    lines = []
    deadline = time.monotonic() + 240
    for line in first.stdout:  # interrupt as soon as the first trial has finished
        lines.append(line)
        if " complete " in line:
            first.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "".join(lines)
    lines += first.stdout.readlines()
    assert first.wait(timeout=120) == 130, "".join(lines)
    assert any("stopped early (rerun the same command to resume)" in line for line in lines), "".join(lines)

    storage = open_storage(f"sqlite:///{store / 'optuna.db'}")
    after_first = {r.number: r for r in load_records(optuna.load_study(study_name="resume", storage=storage))
                   if r.status == "complete"}
    assert 1 <= len(after_first) < 4

    second = _cli(args)
    output = second.communicate(timeout=300)[0]
    assert second.returncode == 0, output
    assert "search 'resume' finished: 4/4 trials" in output

    records = load_records(optuna.load_study(study_name="resume", storage=storage))
    finished = [r for r in records if r.finished]
    assert len(finished) == 4  # no trial ran twice to completion, none was lost
    for number, record in after_first.items():  # finished trials kept as they were
        assert records[number].status == "complete" and records[number].values == record.values
    for record in records:
        if record.status == "interrupted":  # every interrupted trial was re-run under a new number
            assert any(r.retry_of == record.number and r.finished for r in records)
    assert not [r for r in records if r.status in ("running", "waiting")]

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cpt_search/resume")
    runs = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'")
    numbers = [int(r.data.tags["optuna_trial_number"]) for r in runs]
    assert len(numbers) == len(set(numbers)) == 4  # one active run per finished trial
    assert sorted(numbers) == sorted(r.number for r in finished)
    assert {r.info.status for r in runs} <= {"FINISHED", "FAILED"}
    hidden = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'",
                                run_view_type=ViewType.DELETED_ONLY)
    assert sorted(int(r.data.tags["optuna_trial_number"]) for r in hidden) == sorted(
        r.number for r in records if r.status == "interrupted")
    parents = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'search'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    history = client.get_metric_history(parents[0].info.run_id, "hypervolume")
    assert [m.step for m in history] == [1, 2, 3, 4]
