"""``cpt-search schedule``: formats, exact values through the CLI, and every bad argument."""

import csv
import io
import json

import pytest

from cpt_search import preset
from cpt_search.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_is_exact(capsys):
    code, out, _ = run_cli(capsys, "schedule", "--preset", "ETV", "--min-bits", "2", "--max-bits", "6",
                           "--cycles", "3", "--warmup-frac", "0.1", "--total-steps", "301", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    bits, grad = preset("ETV", min_bits=2, max_bits=6, num_cycles=3, warmup_frac=0.1).tracks(301)
    assert [int(r["bits"]) for r in rows] == bits.tolist()
    assert [int(r["grad_bits"]) for r in rows] == grad.tolist()
    assert [int(r["step"]) for r in rows] == list(range(301))


def test_cooldown_flags_are_exact(capsys):
    code, out, _ = run_cli(capsys, "schedule", "--preset", "CR", "--cycles", "4", "--cooldown-frac", "0.2",
                           "--cooldown-bits", "32", "--total-steps", "150", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    bits, grad = preset("CR", num_cycles=4, cooldown_frac=0.2, cooldown_bits=32).tracks(150)
    assert [(int(r["bits"]), int(r["grad_bits"])) for r in rows] == list(zip(bits.tolist(), grad.tolist()))
    assert [int(r["bits"]) for r in rows[-30:]] == [32] * 30


def test_json_summary(capsys):
    code, out, _ = run_cli(capsys, "schedule", "--profile", "rex", "--form", "triangular", "--flip",
                           "horizontal", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["label"] == "RTH 3-8/8 n=8"
    assert round(data["mean_bits"], 2) == 3.81 and round(data["relative_cost_vs_8_8"], 3) == 0.399
    assert data["mean_grad_bits"] == 8 and data["relative_cost"] == pytest.approx(0.399 * 0.0625, abs=1e-4)


def test_text_summary_has_a_sparkline(capsys):
    code, out, _ = run_cli(capsys, "schedule")
    assert code == 0
    assert out.startswith("CR 3-8/8 n=8") and "▁" in out and "█" in out


def test_plot(tmp_path, capsys):
    target = tmp_path / "s.png"
    code, _, _ = run_cli(capsys, "schedule", "--preset", "CT", "--plot", str(target))
    assert code == 0 and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_schedule_file(tmp_path, capsys):
    from cpt_search import save_schedule

    path = save_schedule(tmp_path / "s.yaml", preset("LT", num_cycles=4))
    code, out, _ = run_cli(capsys, "schedule", "--schedule-file", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["label"] == "LT 3-8/8 n=4"


@pytest.mark.parametrize("args,expected", [
    (["--preset", "XYZ"], "--preset='XYZ': unknown preset"),
    (["--profile", "cosin"], "--profile='cosin': unknown profile; did you mean 'cosine'?"),
    (["--form", "zigzag"], "--form='zigzag': form must be one of repeated, triangular"),
    (["--flip", "up"], "--flip='up'"),
    (["--min-bits", "6", "--max-bits", "4"], "--min-bits=6: min_bits <= max_bits must hold"),
    (["--min-grad-bits", "9"], "--max-grad-bits"),  # preset default max grad = min grad; see below
    (["--min-bits", "0"], "--min-bits=0: bits must be an integer in 1..32"),
    (["--max-bits", "33"], "--max-bits=33: bits must be an integer in 1..32"),
    (["--warmup-bits", "40"], "--warmup-bits=40"),
    (["--cycles", "0"], "--cycles=0: num_cycles >= 1 must hold"),
    (["--warmup-frac", "1.5"], "--warmup-frac=1.5: 0 <= warmup_frac < 1 must hold"),
    (["--warmup-frac", "-0.1"], "--warmup-frac=-0.1"),
    (["--cooldown-frac", "1"], "--cooldown-frac=1.0: 0 <= cooldown_frac < 1 must hold"),
    (["--warmup-frac", "0.6", "--cooldown-frac", "0.4"], "--cooldown-frac=0.4: warmup_frac + cooldown_frac"),
    (["--cooldown-frac", "0.1", "--cooldown-bits", "0"], "--cooldown-bits=0: bits must be an integer"),
    (["--total-steps", "5"], "--total-steps=5: the steps after warm-up must be at least num_cycles"),
    (["--total-steps", "0"], "--total-steps=0"),
    (["--min-bits", "three"], "'three' is not a valid integer"),
    (["--preset", "CR", "--profile", "exp"], "--profile: --preset fixes the shape"),
    (["--format", "xml"], "'xml' is not one of"),
    (["--nope"], "No such option"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, args, expected):
    if args == ["--min-grad-bits", "9"]:
        args = ["--min-grad-bits", "9", "--max-grad-bits", "8"]
        expected = "--min-grad-bits=9: min_grad_bits <= max_grad_bits must hold"
    code, out, err = run_cli(capsys, "schedule", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys):
    code, _, err = run_cli(capsys, "--debug", "schedule", "--min-bits", "0")
    assert code == 2 and "Traceback" in err
