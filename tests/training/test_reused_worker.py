"""A reused worker process trains exactly as a fresh one (issue #12: workers and data reused).

Ray Tune's ``reuse_actors`` (cpt_search.search.tuner.reuse_workers) runs several trials in one
process, and cpt_search.data.memo keeps the dataset between them; nothing one trial did (the
dataset's row normalisation, RNG state, quantizer noise tables, a model) may change the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpt_search.data import memo
from cpt_search.schedule import Schedule
from cpt_search.training import TrialSpec, run_trial
from tests.conftest import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
_FOUND = shared_data_dir()  # ../shared/data beside the checkout (CI), or CPT_SEARCH_DATA
DATA = str(_FOUND) if _FOUND is not None else None
FIRST = Schedule(profile="cosine", num_cycles=2, min_bits=3, max_bits=6)
SECOND = Schedule(profile="linear", form="triangular", num_cycles=1, min_bits=4, max_bits=8)

pytestmark = pytest.mark.skipif(not DATA, reason="needs the offline data (CPT_SEARCH_DATA or ../shared/data) with Cora")


def _spec(schedule: Schedule, seed: int) -> TrialSpec:
    return TrialSpec(task="cora/gcn", budget="tiny", schedule=schedule, seed=seed, data_dir=DATA,
                     device="cpu", threads=1)


def _fresh_process_metric(schedule: Schedule, seed: int) -> tuple[float, float]:
    code = (
        "import json, sys\n"
        "from cpt_search.schedule import Schedule\n"
        "from cpt_search.training import TrialSpec, run_trial\n"
        "s = Schedule.from_dict(json.loads(sys.argv[1]))\n"
        "r = run_trial(TrialSpec(task='cora/gcn', budget='tiny', schedule=s, seed=int(sys.argv[2]),"
        f" data_dir={DATA!r}, device='cpu', threads=1))\n"
        "print(json.dumps([r.metric, r.test_metric]))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(schedule.to_dict()), str(seed)],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    metric, test = json.loads(out.stdout.strip().splitlines()[-1])
    return metric, test


def test_a_reused_process_gives_the_metric_of_a_fresh_process() -> None:
    memo.forget()
    # Another schedule and seed first, as the previous trial of a reused worker; then the one compared.
    run_trial(_spec(SECOND, seed=3))
    reused = run_trial(_spec(FIRST, seed=1))
    fresh = _fresh_process_metric(FIRST, seed=1)
    assert (reused.metric, reused.test_metric) == fresh
    again = run_trial(_spec(FIRST, seed=1))
    assert (again.metric, again.test_metric) == fresh


def test_a_trial_cannot_change_the_kept_dataset() -> None:
    from cpt_search.data import DataOptions, planetoid

    memo.forget()
    options = DataOptions(data_dir=DATA)
    first, _, _ = planetoid.load("cora", options)
    first.x.mul_(0.0)  # what a careless task's prepare could do to its copy
    second, _, _ = planetoid.load("cora", options)
    assert float(second.x.abs().sum()) > 0.0


def test_a_dataset_is_read_once_per_process_and_each_caller_gets_its_own_copy() -> None:
    memo.forget()
    reads: list[int] = []

    def read() -> list[int]:
        reads.append(1)
        return [1, 2, 3]

    first = memo.remembered(("test", "read-once"), read)
    second = memo.remembered(("test", "read-once"), read)
    assert reads == [1] and first == second == [1, 2, 3] and first is not second
