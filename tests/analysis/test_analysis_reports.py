"""The reproduce and critical-period reports built from known outcomes: rows, numbers, marks, files."""

import csv
import io
import json

import pytest

from cpt_search.analysis import critical, reproduce
from cpt_search.analysis.jobs import Outcome, critical_period_jobs, reproduce_jobs
from cpt_search.analysis.stats import spearman
from cpt_search.costs import summarize_schedule

TOTAL_STEPS = 200


def _result(job, metric):
    """A TrialResult summary as run_trial gives it (cost figures from the schedule itself)."""
    cost = summarize_schedule(job.schedule, TOTAL_STEPS)
    return {"metric": metric, "relative_cost": cost.relative_cost, "mean_bits": cost.mean_bits,
            "mean_grad_bits": cost.mean_grad_bits, "relative_cost_vs_8_8": cost.relative_cost_vs_8_8,
            "bitops": cost.relative_cost * 1e9, "paper_bitops": cost.relative_cost * 1e9,
            "total_steps": TOTAL_STEPS, "seconds": 1.0}


def _reproduce_outcomes(metric_of, failed=()):
    outcomes = []
    for job in reproduce_jobs(3):
        if (job.row, job.seed) in failed:
            outcomes.append(Outcome(job=job, error="TrialDiverged: loss is nan"))
        else:
            outcomes.append(Outcome(job=job, result=_result(job, metric_of(job))))
    return outcomes


def _metric(job):
    # Accuracy rises with cost up to static 8/8's (FP32 ties it), plus a seed offset.
    cost = summarize_schedule(job.schedule, TOTAL_STEPS).relative_cost
    return round(0.70 + 0.1 * min(cost, 0.0625) / 0.0625 + 0.002 * job.seed, 6)


def test_reproduce_table_rows_numbers_and_correlation():
    outcomes = _reproduce_outcomes(_metric, failed={("LT", 2)})
    report = reproduce.build_report(outcomes, task="cora/gcn", budget="tiny",
                                    metric_name="test_accuracy", higher_is_better=True,
                                    static_row="static 8/8", settings={"seeds": 3})
    names = [row.schedule for row in report.rows]
    assert names == ["CR", "CT", "LR", "LT", "ER", "ETH", "ETV", "RR", "RTV", "RTH",
                     "static 8/8", "FP32"]
    by_name = {row.schedule: row for row in report.rows}
    cr = by_name["CR"]
    assert cr.metric.n == 3 and cr.metric.std == pytest.approx(0.002)
    assert cr.metric_values == tuple(_metric(o.job) for o in outcomes if o.job.row == "CR")
    static_mean = by_name["static 8/8"].metric.mean
    assert cr.vs_static.delta == pytest.approx(cr.metric.mean - static_mean)
    assert cr.vs_static.mark == "*"  # 3 seeds, tiny spread, a real gap
    assert by_name["LT"].metric.n == 2 and by_name["LT"].failed == ("seed 2: TrialDiverged: loss is nan",)
    assert by_name["FP32"].relative_cost == pytest.approx(1.0)
    assert by_name["static 8/8"].relative_cost_vs_8_8 == pytest.approx(1.0)
    assert by_name["CR"].mean_bits == pytest.approx(summarize_schedule(cr_schedule(outcomes),
                                                                       TOTAL_STEPS).mean_bits)
    # Correlation is over exactly the rows reported.
    expected = spearman([r.relative_cost for r in report.rows], [r.metric.mean for r in report.rows])
    assert report.spearman == expected and report.spearman.rho > 0.8 and report.spearman.n == 12
    presets = [r for r in report.rows if r.kind == "preset"]
    assert report.spearman_presets == spearman([r.relative_cost for r in presets],
                                               [r.metric.mean for r in presets])
    # Pareto: metric rises with cost, so every distinct cost level up to the metric cap is optimal,
    # and nothing costlier than static 8/8 at the same (capped) metric is.
    assert by_name["RR"].pareto  # cheapest
    assert not by_name["FP32"].pareto  # same capped accuracy as static 8/8 at 16x the cost
    assert by_name["static 8/8"].pareto


def cr_schedule(outcomes):
    return next(o.job.schedule for o in outcomes if o.job.row == "CR")


def test_reproduce_json_markdown_csv():
    report = reproduce.build_report(_reproduce_outcomes(_metric), task="cora/gcn", budget="tiny",
                                    metric_name="test_accuracy", higher_is_better=True,
                                    static_row="static 8/8")
    document = json.loads(json.dumps(report.to_json()))
    assert set(document) >= {"rows", "spearman"}
    assert set(document["spearman"]) >= {"rho", "p"}
    row = document["rows"][0]
    assert {"schedule", "metric_mean", "metric_std", "relative_cost", "mean_bits"} <= set(row)
    markdown = report.table().markdown()
    lines = markdown.strip().splitlines()
    assert len(lines) == 2 + 12
    assert lines[2].startswith("| CR | ") and "±" in lines[2]
    assert "| static 8/8 | " in markdown and "| FP32 | " in markdown
    rows = list(csv.DictReader(io.StringIO(report.csv_table().csv())))
    assert len(rows) == 12 and rows[0]["schedule"] == "CR"
    assert float(rows[0]["metric_mean"]) == pytest.approx(report.rows[0].metric.mean)


def test_reproduce_lower_is_better_pareto_direction():
    # bits per character: lower is better; cheaper schedules are worse here.
    def bpc(job):
        return 2.0 - summarize_schedule(job.schedule, TOTAL_STEPS).relative_cost + 0.01 * job.seed
    report = reproduce.build_report(_reproduce_outcomes(bpc), task="shakespeare/lstm", budget="tiny",
                                    metric_name="val_bpc", higher_is_better=False,
                                    static_row="static 8/8")
    by_name = {row.schedule: row for row in report.rows}
    assert by_name["FP32"].pareto and by_name["RR"].pareto
    assert report.spearman.rho == pytest.approx(-1.0)


def _critical_outcomes(metric_of):
    return [Outcome(job=job, result=_result(job, metric_of(job)))
            for job in critical_period_jobs(3, impair_bits=3, base_bits=8, grad_bits=8,
                                            impair_fracs=(0, 0.1, 0.5))]


def test_critical_report_damage_steps_and_pairs():
    def accuracy(job):
        damage = {"control": 0.0, "early": 0.2, "late": 0.02}[job.kind] * (job.window_frac or 0)
        return 0.80 - damage + 0.001 * job.seed

    report = critical.build_report(_critical_outcomes(accuracy), task="cora/gcn", budget="tiny",
                                   metric_name="test_accuracy", higher_is_better=True,
                                   impair_bits=3, base_bits=8, grad_bits=8)
    assert [r.row for r in report.rows] == ["control 8/8", "early 0.1", "early 0.5", "late 0.1",
                                            "late 0.5"]
    by_row = {r.row: r for r in report.rows}
    assert by_row["early 0.5"].damage == pytest.approx(0.1)
    assert by_row["late 0.5"].damage == pytest.approx(0.01)
    assert by_row["control 8/8"].damage == pytest.approx(0.0)
    assert (by_row["early 0.1"].window_steps, by_row["early 0.1"].total_steps) == (20, 200)
    assert by_row["late 0.5"].window_steps == 100 and by_row["control 8/8"].window_steps == 0
    assert [p.window_frac for p in report.pairs] == [0.1, 0.5]
    assert all(p.early_worse for p in report.pairs)
    assert report.pairs[1].early_vs_late.delta == pytest.approx(-0.09)
    assert report.pairs[1].early_vs_late.mark == "*"
    text = report.table().markdown()
    assert "| early 0.5 | 0.5 | 100/200 |" in text
    pairs = report.pairs_table().markdown()
    assert "| 0.5 | +0.1000 | +0.0100 | -0.0900 |" in pairs and pairs.rstrip().endswith("yes |")
    json.dumps(report.to_json())


def test_critical_damage_sign_for_lower_is_better():
    def bpc(job):
        return 1.5 + (0.3 if job.kind == "early" else 0.0) * (job.window_frac or 0) + 0.01 * job.seed
    report = critical.build_report(_critical_outcomes(bpc), task="shakespeare/lstm", budget="tiny",
                                   metric_name="val_bpc", higher_is_better=False,
                                   impair_bits=3, base_bits=8, grad_bits=8)
    by_row = {r.row: r for r in report.rows}
    assert by_row["early 0.5"].damage == pytest.approx(0.15)  # higher bpc = worse = positive damage
    assert by_row["late 0.5"].damage == pytest.approx(0.0)


def test_the_test_split_is_a_column_apart_and_never_selects():
    # Test accuracy runs opposite to validation: if it leaked into the differences or the Pareto
    # flags, the cheap schedules would win them.
    outcomes = _reproduce_outcomes(_metric)
    for outcome in outcomes:
        outcome.result["test_metric"] = 1.0 - outcome.result["metric"]
    report = reproduce.build_report(outcomes, task="cora/gcn", budget="tiny", metric_name="val_accuracy",
                                    higher_is_better=True, static_row="static 8/8",
                                    test_metric_name="test_accuracy")
    plain = reproduce.build_report(outcomes, task="cora/gcn", budget="tiny", metric_name="val_accuracy",
                                   higher_is_better=True, static_row="static 8/8")
    by_name = {row.schedule: row for row in report.rows}
    assert by_name["CR"].test_metric.mean == pytest.approx(1.0 - by_name["CR"].metric.mean)
    assert [(r.vs_static.delta, r.pareto) for r in report.rows] == [(r.vs_static.delta, r.pareto) for r in plain.rows]
    table = report.table()
    assert "test_accuracy mean ± std" in table.columns and "test_accuracy mean ± std" not in plain.table().columns
    assert report.to_json()["rows"][0]["test_metric_mean"] == pytest.approx(by_name["CR"].test_metric.mean)
    crit = critical.build_report([Outcome(job=o.job, result={**o.result, "test_metric": 0.5})
                                  for o in _critical_outcomes(lambda job: 0.8)],
                                 task="cora/gcn", budget="tiny", metric_name="val_accuracy", higher_is_better=True,
                                 impair_bits=3, base_bits=8, grad_bits=8, test_metric_name="test_accuracy")
    assert all(r.test_metric.mean == pytest.approx(0.5) for r in crit.rows)
    assert "test_accuracy mean ± std" in crit.table().columns
