"""Output paths, resource-hungry numbers, third-party warnings and misnamed errors.

Before this suite: ``--plot`` with an unsupported suffix, under a file or in a missing directory
gave a traceback and an empty ``--plot`` silently drew nothing; ``export -o /dev/full`` gave a
traceback; ``--total-steps 10**9`` and range-test steps of 10**12 allocated without bound;
``--host 999.999.999.999`` was reported as "port in use"; a torch FutureWarning could precede the
error line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from refusal import assert_refused, run_bounded, run_in_process

from cpt_search.export import load_schedule


@pytest.mark.parametrize("plot,needle", [
    ("x.bogus", "unsupported file type .bogus"),
    ("", "the output path is empty"),
    ("UNDER_FILE/x.png", "is not a directory"),
])
def test_bad_plot_paths_are_refused_before_any_work(tmp_path: Path, capsys, hostile, plot, needle) -> None:
    plot = plot.replace("UNDER_FILE", str(hostile["regular"]))
    assert_refused(run_in_process(capsys, "schedule", "--plot", plot), "--plot=", needle)


def test_a_plot_in_a_missing_directory_is_written_there(tmp_path: Path, capsys) -> None:
    target = tmp_path / "new" / "dir" / "cr.png"
    outcome = run_in_process(capsys, "schedule", "--total-steps", "200", "--plot", target)
    assert outcome.code == 0 and target.stat().st_size > 0


@pytest.mark.parametrize("output,needle", [
    ("/dev/full", "cannot write the file (No space left on device)"),
    ("", "the output path is empty"),
    ("UNDER_FILE/best.yaml", "is not a directory"),
    ("DIRECTORY", "is a directory"),
])
def test_export_output_errors_are_one_line(tmp_path: Path, capsys, hostile, store: Path, output, needle) -> None:
    output = output.replace("UNDER_FILE", str(hostile["regular"])).replace("DIRECTORY", str(tmp_path))
    assert_refused(run_in_process(capsys, "export", "demo", "--store", store, "-o", output),
                   "--output", needle)


def test_export_still_writes_where_asked(tmp_path: Path, capsys, store: Path) -> None:
    target = tmp_path / "made" / "best.yaml"
    outcome = run_in_process(capsys, "export", "demo", "--store", store, "-o", target)
    assert outcome.code == 0, outcome.err
    assert load_schedule(target).max_bits == 8


@pytest.mark.parametrize("args,needle", [
    (["schedule", "--total-steps", str(10**9)], "--total-steps=1000000000: total_steps <= 10000000"),
    (["schedule", "--total-steps", str(10**30), "--format", "csv"], "--total-steps="),
    (["range-test", "--task", "digits/mlp", "--steps-per-bits", str(10**12)], "--steps-per-bits"),
    (["reproduce", "--task", "digits/mlp", "--seeds", str(10**20)], "--seeds="),
    (["critical-period", "--task", "digits/mlp", "--seeds", str(10**20)], "--seeds="),
    (["train", "--task", "digits/mlp", "--seed", str(2**64)], "--seed"),
])
def test_resource_hungry_numbers_are_refused_in_bounded_memory(tmp_path: Path, args, needle) -> None:
    assert_refused(run_bounded(*args, cwd=tmp_path), needle)


def test_range_test_outputs_are_checked_before_training(tmp_path: Path, capsys, hostile) -> None:
    # digits/mlp trains in this process: the refusal must come first, so nothing is written or run
    outcome = run_in_process(capsys, "range-test", "--task", "digits/mlp", "--budget", "tiny",
                             "--write-space", hostile["regular"] / "space.yaml")
    assert_refused(outcome, "--write-space=", "is not a directory")
    assert outcome.out == ""
    assert_refused(run_in_process(capsys, "range-test", "--task", "digits/mlp", "--plot", "loss.txt"),
                   "--plot=", "unsupported file type .txt")


@pytest.mark.parametrize("host,needle", [
    ("999.999.999.999", "not an IP address or a host name"),
    ("bad_name!", "not an IP address or a host name"),
    ("1.2.3", "not an IP address or a host name"),
])
def test_ui_host_is_checked_before_the_store_and_the_port(tmp_path: Path, capsys, host, needle) -> None:
    line = assert_refused(run_in_process(capsys, "ui", "--host", host, "--store", tmp_path / "none"),
                          f"--host={host!r}", needle)
    assert "port" not in line and "MLflow database" not in line


def test_third_party_warnings_do_not_precede_the_error_line(tmp_path: Path) -> None:
    # Importing the tasks makes torch warn (torch.jit.script is deprecated); 'always' shows every one.
    space = tmp_path / "space.yaml"
    space.write_text("task: nope/x\ntrials: 3\n")
    outcome = run_bounded("validate", space, cwd=tmp_path, env={"PYTHONWARNINGS": "always"},
                          cap_memory=False)
    assert_refused(outcome, "task='nope/x': unknown task")



def test_schedule_plots_are_drawn_from_change_points_exactly() -> None:
    # A step plot through the change points is the plot through every step: rebuild the track.
    import numpy as np

    from cpt_search.plotting import _change_points
    from cpt_search.presets import preset

    bits, _ = preset("RTV", warmup_frac=0.1).tracks(5_000)
    starts, values = _change_points(bits)
    assert len(starts) < 200
    rebuilt = np.repeat(values[:-1], np.diff(starts))
    assert np.array_equal(np.append(rebuilt, values[-1]), bits)
