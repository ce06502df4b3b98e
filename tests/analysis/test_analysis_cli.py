"""``cpt-search reproduce | critical-period | range-test``: bad inputs are one line with exit status 2
(before anything trains), and real end-to-end runs on the instant digits task."""

import json

import pytest
from scipy.stats import spearmanr

from cpt_search.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, needle", [
    (["reproduce", "--task", "nope/gcn"], "--task='nope/gcn': unknown task"),
    (["reproduce", "--task", "digits/mlp", "--budget", "huge"], "--budget='huge': unknown budget"),
    (["reproduce", "--task", "digits/mlp", "--min-bits", "0"], "--min-bits=0: bits must be an integer in 1..32"),
    (["reproduce", "--task", "digits/mlp", "--max-bits", "33"], "--max-bits=33"),
    (["reproduce", "--task", "digits/mlp", "--min-bits", "8", "--max-bits", "4"], "min_bits < max_bits must hold"),
    (["reproduce", "--task", "digits/mlp", "--seeds", "0"], "--seeds=0: seeds >= 1 must hold"),
    (["reproduce", "--task", "digits/mlp", "--name", "a b"], "search name"),
    (["critical-period", "--task", "digits/mlp", "--impair-fracs", "0,1.5"], "--impair-fracs=1.5: 0 <= impair fraction < 1"),
    (["critical-period", "--task", "digits/mlp", "--impair-fracs", "0,x"], "numbers separated by commas"),
    (["critical-period", "--task", "digits/mlp", "--impair-bits", "8", "--bits", "8"], "impair_bits < bits must hold"),
    (["critical-period", "--task", "cifar99/gcn"], "unknown task"),
    (["critical-period", "--task", "digits/mlp", "--impair-fracs", "0,0.6", "--recovery-frac", "0.5"],
     "impair fraction + recovery <= 1 must hold"),
    (["range-test", "--task", "digits/mlp", "--start-bits", "8", "--max-bits", "8"], "start_bits < max_bits must hold"),
    (["range-test", "--task", "digits/mlp", "--start-bits", "0"], "--start-bits=0: bits must be an integer"),
    (["range-test", "--task", "digits/mlp", "--steps-per-bits", "3"], "--steps-per-bits=3: steps_per_bits >= 8"),
    (["range-test", "--task", "digits/mlp", "--grad-bits", "0"], "--grad-bits=0"),
])
def test_bad_inputs_one_line_exit_2(capsys, tmp_path, args, needle):
    code, out, err = run_cli(capsys, *args, *(["--store", str(tmp_path)] if args[0] != "range-test" else []))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err
    assert not (tmp_path / "mlflow.db").exists()  # rejected before anything was created


def _mlflow_runs(store, experiment):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    return client, client.search_runs([exp.experiment_id], max_results=1000)


@pytest.mark.slow
def test_reproduce_end_to_end(capsys, tmp_path):
    code, out, err = run_cli(capsys, "reproduce", "--task", "digits/mlp", "--budget", "tiny",
                             "--seeds", "1", "--min-bits", "4", "--max-bits", "7", "--grad-bits", "7",
                             "--cycles", "2", "--store", str(tmp_path), "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    rows = document["rows"]
    assert [r["schedule"] for r in rows] == ["CR", "CT", "LR", "LT", "ER", "ETH", "ETV", "RR", "RTV",
                                             "RTH", "static 7/7", "static 8/8", "FP32"]
    assert all(r["n"] == 1 and r["metric_std"] is None for r in rows)
    rho = spearmanr([r["relative_cost"] for r in rows], [r["metric_mean"] for r in rows])
    assert document["spearman"]["rho"] == pytest.approx(rho.statistic)
    assert document["spearman"]["p"] == pytest.approx(rho.pvalue)
    assert rows[-1]["relative_cost"] == pytest.approx(1.0) and rows[-1]["mean_bits"] == 32
    assert rows[0]["mean_bits"] < 7
    client, runs = _mlflow_runs(tmp_path, document["mlflow"]["experiment"])
    jobs = [r for r in runs if r.data.tags.get("cpt_search_role") == "analysis_job"]
    parent = [r for r in runs if r.data.tags.get("cpt_search_role") == "analysis"]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    assert sorted(r.data.tags["job_key"] for r in jobs) == sorted(f"{r['schedule']}#seed0" for r in rows)
    assert all(r.info.status == "FINISHED" and r.data.tags["mlflow.parentRunId"] == parent[0].info.run_id
               for r in jobs)
    by_key = {r.data.tags["job_key"]: r for r in jobs}
    assert by_key["CR#seed0"].data.metrics["val_accuracy"] == pytest.approx(rows[0]["metric_mean"])
    assert 0 <= by_key["CR#seed0"].data.metrics["test_accuracy"] <= 1  # reported beside, never selected on
    assert {r.data.tags["device"] for r in jobs} == {"cpu"} and len({r.data.tags["quant_kernels"] for r in jobs}) == 1
    artifacts = {a.path for a in client.list_artifacts(parent[0].info.run_id)}
    assert artifacts == {"reproduce.md", "reproduce.csv", "reproduce.json", "reproduce.png"}
    reports = tmp_path / "reports" / document["settings"]["name"]
    assert "| RTH |" in (reports / "reproduce.md").read_text()
    written = {name: (reports / name).read_bytes() for name in ("reproduce.md", "reproduce.csv", "reproduce.json")}

    # The same command again resumes: nothing is retrained, no run is duplicated.
    code, out, err = run_cli(capsys, "reproduce", "--task", "digits/mlp", "--budget", "tiny",
                             "--seeds", "1", "--min-bits", "4", "--max-bits", "7", "--grad-bits", "7",
                             "--cycles", "2", "--store", str(tmp_path), "--format", "json")
    assert code == 0 and json.loads(out)["rows"] == rows
    assert "starting Ray" not in err
    # The tables regenerate byte for byte from the stored runs (how docs/results is kept).
    assert {name: (reports / name).read_bytes() for name in written} == written
    _, again = _mlflow_runs(tmp_path, document["mlflow"]["experiment"])
    assert len(again) == len(runs)


@pytest.mark.slow
def test_critical_period_end_to_end(capsys, tmp_path):
    code, out, err = run_cli(capsys, "critical-period", "--task", "digits/mlp", "--budget", "tiny",
                             "--seeds", "1", "--impair-bits", "2", "--impair-fracs", "0,0.25",
                             "--store", str(tmp_path), "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    rows = {r["window"]: r for r in document["rows"]}
    assert set(rows) == {"control 8/8", "early 0.25", "late 0.25"}
    total = rows["control 8/8"]["total_steps"]
    assert total == 44  # digits tiny: 2 epochs x 22 steps
    assert rows["early 0.25"]["window_steps"] == rows["late 0.25"]["window_steps"] == 11
    assert rows["control 8/8"]["window_steps"] == 0
    assert rows["early 0.25"]["mean_bits"] == pytest.approx((11 * 2 + 33 * 8) / 44)
    _, runs = _mlflow_runs(tmp_path, document["mlflow"]["experiment"])
    assert sum(r.data.tags.get("cpt_search_role") == "analysis_job" for r in runs) == 3


def test_range_test_table_shows_the_held_out_metrics(capsys):
    code, out, err = run_cli(capsys, "range-test", "--task", "digits/mlp", "--budget", "tiny",
                             "--start-bits", "2", "--max-bits", "3", "--steps-per-bits", "8", "--threads", "1")
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("| bits |"))
    assert header.endswith("| works | val_accuracy at stage end | test_accuracy at stage end |")
    assert "never used by the rule" in out


def test_range_test_end_to_end(capsys, tmp_path):
    space = tmp_path / "space.yaml"
    code, out, err = run_cli(capsys, "range-test", "--task", "digits/mlp", "--budget", "tiny",
                             "--start-bits", "1", "--max-bits", "4", "--steps-per-bits", "12",
                             "--threads", "1", "--format", "json", "--write-space", str(space),
                             "--plot", str(tmp_path / "range.png"))
    assert code == 0, err
    document = json.loads(out)
    assert [s["bits"] for s in document["stages"]] == [1, 2, 3, 4]
    assert all(s["steps"] == 12 for s in document["stages"]) and len(document["losses"]) == 48
    suggested = document["suggested_min_bits"]
    assert suggested == next(s["bits"] for s in document["stages"] if s["works"])
    # Each stage's end is evaluated on the validation and the test split, reported beside the rule.
    assert document["metric_name"] == "val_accuracy" and document["test_metric_name"] == "test_accuracy"
    for stage in document["stages"]:
        assert 0.0 <= stage["metric"] <= 1.0 and 0.0 <= stage["test_metric"] <= 1.0
    assert document["stages"][-1]["metric"] > document["stages"][0]["metric"]  # 4 bits trains, 1 bit hardly
    from cpt_search.space import load_space

    assert load_space(space).schedule["min_bits"].bounds()[0] == suggested
    assert (tmp_path / "range.png").stat().st_size > 0
