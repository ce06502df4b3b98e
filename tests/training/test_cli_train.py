"""``cpt-search train`` end to end on the instant task, and its one-line errors."""

from __future__ import annotations

import json

from cpt_search.cli import main
from cpt_search.quant import native


# What a CPU trial reports: the native kernels wherever they build (test_quant_native checks that).
_KERNELS = "native" if native.available() else "eager"

def test_train_json_on_digits(capsys):
    code = main(["train", "--task", "digits/mlp", "--budget", "tiny", "--preset", "CR",
                 "--cycles", "2", "--threads", "1", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    for key in ("metric", "metric_name", "higher_is_better", "accuracy", "bitops", "relative_cost",
                "mean_bits", "total_steps", "seconds"):
        assert key in result
    assert result["task"] == "digits/mlp" and result["total_steps"] == 44
    assert result["metric_name"] == "val_accuracy" and result["higher_is_better"] is True
    assert result["test_metric_name"] == "test_accuracy" and 0 <= result["test_metric"] <= 1
    assert result["schedule"]["profile"] == "cosine" and result["schedule"]["num_cycles"] == 2
    assert 3 < result["mean_bits"] < 8
    assert result["device"] == "cpu" and result["quant_kernels"] == _KERNELS


def test_train_table_has_one_row_per_epoch_and_a_summary(capsys):
    code = main(["train", "--task", "digits/mlp", "--budget", "tiny", "--min-bits", "6",
                 "--max-bits", "6", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "step"])
    rows = lines[header + 1:header + 3]
    assert [row.split()[:2] for row in rows] == [["1", "22"], ["2", "44"]]
    assert all(row.split()[5] == "6.000" for row in rows)  # mean bits so far
    assert lines[header].split()[3:5] == ["val_accuracy", "test_accuracy"]
    summary = next(line for line in lines if line.startswith("val_accuracy "))
    assert summary.split()[2] == "test_accuracy"
    assert any("44 steps in" in line for line in lines)


def run_error(capsys, *args: str) -> str:
    code = main(["train", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_task_suggests_the_closest(capsys):
    err = run_error(capsys, "--task", "digits/mpl")
    assert "unknown task" in err and "did you mean 'digits/mlp'" in err


def test_unknown_budget(capsys):
    assert "unknown budget" in run_error(capsys, "--task", "digits/mlp", "--budget", "huge")


def test_bad_schedule_flag_names_the_flag(capsys):
    err = run_error(capsys, "--task", "digits/mlp", "--min-bits", "9", "--max-bits", "8")
    assert "--min-bits" in err


def test_missing_data_names_the_files(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CPT_SEARCH_CACHE", str(tmp_path / "cache"))
    err = run_error(capsys, "--task", "citeseer/gcn", "--data-dir", str(tmp_path))
    assert "dataset citeseer not found" in err and "ind.citeseer.graph" in err
    assert f"{tmp_path}/planetoid/" in err
