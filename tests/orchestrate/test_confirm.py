"""End to end: a search with a ``confirm:`` section, then ``cpt-search confirm`` resuming it.

A real search (Ray Tune, Optuna on SQLite, MLflow on SQLite) of ``digits/mlp`` at its ``tiny`` budget,
whose front is retrained on confirm seeds by the race; then the command line asks for one more seed,
and only the new (schedule, seed) pairs are trained.
"""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
import yaml

from cpt_search.cli import main
from cpt_search.export import load_schedule_document
from cpt_search.records.confirmed import confirm_study_name, schedule_key
from cpt_search.search.resume import open_storage
from cpt_search.search.results import load_records
from cpt_search.search.snapshot import load_search

SPACE = {
    "name": "confirmed", "task": "digits/mlp", "budget": "tiny", "seeds": [0], "trials": 3,
    "concurrency": 2, "sampler": {"name": "random", "seed": 3},
    "schedule": {"profile": ["cosine", "linear"], "num_cycles": [2], "min_bits": {"low": 3, "high": 6},
                 "bits_span": {"low": 0, "high": 3}},
    "confirm": {"seeds": [1, 2, 3], "max_trainings": 5},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def confirmed(ray_local, tmp_path_factory):
    from cpt_search.orchestrate.search import SearchRequest, run_search

    root = tmp_path_factory.mktemp("confirm")
    space_path = root / "confirmed.yaml"
    space_path.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    outcome = run_search(SearchRequest(space_path=space_path, store_dir=root / "store"))
    return root, outcome


def _confirm_records(store):
    storage = open_storage(store.optuna_url)
    return load_records(optuna.load_study(study_name=confirm_study_name("confirmed"), storage=storage))


def test_the_search_confirms_its_front_on_the_confirm_seeds(confirmed) -> None:
    _, outcome = confirmed
    front, confirmation = outcome.front, outcome.confirmation
    assert outcome.complete and confirmation is not None and confirmation.complete
    assert front.confirmed is not None and front.members
    trained = _confirm_records(outcome.store)
    assert 0 < len(trained) <= 5  # the budget holds
    pairs = [(schedule_key(r.schedule), r.tags["seed"]) for r in trained]
    assert len(pairs) == len(set(pairs))  # no (schedule, seed) pair twice
    assert {int(r.tags["seed"]) for r in trained} <= {1, 2, 3}
    for member in front.members:
        extra = member.extra
        row = front.row(member.trial)
        assert row is not None and row.on_front and extra["n_seeds"] == row.stats.n_seeds
        assert extra["search_metric"] is not None and math.isfinite(member.metric)
        if extra["n_seeds"] >= 2:
            assert extra["ci_low"] <= extra["mean"] <= extra["ci_high"] and 0 <= extra["p_front"] <= 1
    # The test column rests on the same seeds as the metric: the plain mean of the search seed's and
    # the confirm trainings' test values.
    confirm_tests: dict = {}
    for r in trained:
        if r.status == "complete" and r.test_metric is not None:
            confirm_tests.setdefault(schedule_key(r.schedule), []).append(r.test_metric)
    search_records = {r.number: r for r in load_search(outcome.store, "confirmed").records}
    for member in front.members:
        tests = [member.extra["search_test_metric"],
                 *confirm_tests.get(schedule_key(search_records[member.trial].schedule), [])]
        assert member.extra["test_n_seeds"] == len(tests)
        assert member.extra["test_metric"] == pytest.approx(sum(tests) / len(tests))
    # The cheapest member is trained to min_seeds (3) so that its value is not one lucky seed's.
    assert front.members[0].extra["n_seeds"] >= 3
    # Reading the store again gives the same confirmed front (front/export rebuild it from the values).
    again = load_search(outcome.store, "confirmed").front
    assert [c.trial for c in again.members] == [c.trial for c in front.members]
    assert again.hypervolume == pytest.approx(front.hypervolume)


def test_front_and_export_show_the_confirmed_values(confirmed, tmp_path: Path, capsys) -> None:
    root, outcome = confirmed
    store = str(root / "store")
    assert main(["front", "confirmed", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "seed-confirmed front" in out and "P(front)" in out and "95% interval" in out
    target = tmp_path / "knee.yaml"
    assert main(["export", "confirmed", "--store", store, "-o", str(target)]) == 0
    _, provenance = load_schedule_document(target)
    confirmation = provenance["confirmation"]
    said = capsys.readouterr().out
    assert f"confirmed on {confirmation['n_seeds']} seed(s): mean {confirmation['mean']:.4f}" in said
    # A value resting on fewer seeds than the race's min_seeds (3) says so, and how to get more.
    assert ("warning: only" in said) == (confirmation["n_seeds"] < 3), said
    assert ("cpt-search confirm confirmed --max-trainings 10" in said) == (confirmation["n_seeds"] < 3)
    assert confirmation["confirm_seeds"] == [1, 2, 3]
    assert confirmation["n_seeds"] >= 1 and "p_front" in confirmation and "ci_low" in confirmation
    member = next(c for c in outcome.front.members if c.trial == provenance["trial"])
    assert provenance["metric"] == pytest.approx(member.metric)


def test_confirm_command_resumes_and_never_retrains_a_pair(confirmed, capsys) -> None:
    root, outcome = confirmed
    store = str(root / "store")
    before = {(schedule_key(r.schedule), r.tags["seed"]): r.number for r in _confirm_records(outcome.store)}
    code = main(["confirm", "confirmed", "--store", store, "--seeds", "1,2,3,4", "--max-trainings", "7"])
    assert code == 0, capsys.readouterr()
    after = _confirm_records(outcome.store)
    pairs = [(schedule_key(r.schedule), r.tags["seed"]) for r in after]
    assert len(pairs) == len(set(pairs))
    # Every earlier pair is still the same trial: nothing was trained again.
    assert {p: n for p, n in ((k, r.number) for k, r in zip(pairs, after)) if p in before} == before
    assert len(after) <= 7
    out = capsys.readouterr().out
    assert "seed-confirmed Pareto front" in out


def test_confirm_refuses_a_search_seed(confirmed, capsys) -> None:
    root, _ = confirmed
    assert main(["confirm", "confirmed", "--store", str(root / "store"), "--seeds", "0,5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--seeds" in err and len(err.strip().splitlines()) == 1
