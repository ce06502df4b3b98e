"""``cpt-search schedule``: print, summarise or plot one precision schedule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from cpt_search.cli.schedule_options import with_schedule
from cpt_search.costs import summarize_tracks
from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_SCHEDULE_STEPS
from cpt_search.output_paths import check_plot_path, writing
from cpt_search.plotting import sparkline
from cpt_search.schedule import Schedule

DEFAULT_TOTAL_STEPS = 64_000  # the length of the reference vectors (docs/method.md §1)


@click.command()
@click.option("--total-steps", type=int, default=DEFAULT_TOTAL_STEPS, show_default=True,
              help=f"Training steps the schedule spans (at most {MAX_SCHEDULE_STEPS:,}).")
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json"]),
              default="text", show_default=True,
              help="text: summary + sparkline; csv: step,bits,grad_bits per step; json: summary object.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Also draw the schedule to this PNG file.")
@with_schedule
def schedule(schedule: Schedule, total_steps: int, output_format: str, plot_path: str | None) -> None:
    """Print, summarise or plot one precision schedule."""
    if plot_path is not None:  # before any work: an unwritable plot path is one line, not a traceback
        plot_path = str(check_plot_path(plot_path, flag="--plot"))
    if isinstance(total_steps, int) and total_steps > MAX_SCHEDULE_STEPS:
        # Every step is materialised (two int64 tracks and float intermediates): 10**7 steps take
        # about 0.6 GB, 10**8 steps 5.7 GB. Schedule.bits_at evaluates one step of any run.
        raise ConfigError(f"total_steps <= {MAX_SCHEDULE_STEPS} must hold (every step is computed "
                          "and printed)", key="--total-steps", value=total_steps,
                          fix=f"pass at most {MAX_SCHEDULE_STEPS}; the shape is the same at fewer steps")
    try:
        bits, grad_bits = schedule.tracks(total_steps)
    except ConfigError as error:
        raise error.with_context(key="--total-steps") from None
    if output_format == "csv":
        _write_csv(bits, grad_bits)
    elif output_format == "json":
        click.echo(json.dumps(_summary(schedule, total_steps, bits, grad_bits)))
    else:
        click.echo(_text(schedule, total_steps, bits, grad_bits))
    if plot_path is not None:
        from cpt_search.plotting import plot_schedule

        with writing(plot_path, flag="--plot"):
            Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
            plot_schedule(schedule, total_steps, plot_path)
        click.echo(f"plot written to {plot_path}", err=output_format != "text")


def _summary(schedule: Schedule, total_steps: int, bits: np.ndarray,
             grad_bits: np.ndarray) -> dict[str, object]:
    return {
        "label": schedule.label,
        "schedule": schedule.to_dict(),
        "total_steps": total_steps,
        "warmup_steps": schedule.warmup_steps(total_steps),
        "cooldown_steps": schedule.cooldown_steps(total_steps),
        "period_steps": schedule.period_steps(total_steps),
        **summarize_tracks(bits, grad_bits).to_dict(),
        "min_bits_used": int(bits.min()),
        "max_bits_used": int(bits.max()),
    }


def _write_csv(bits: np.ndarray, grad_bits: np.ndarray) -> None:
    # One vectorised write: a million rows take well under a second.
    rows = np.column_stack([np.arange(bits.size), bits, grad_bits])
    out = sys.stdout
    out.write("step,bits,grad_bits\n")
    np.savetxt(out, rows, fmt="%d", delimiter=",")
    out.flush()


def _text(schedule: Schedule, total_steps: int, bits: np.ndarray, grad_bits: np.ndarray) -> str:
    summary = _summary(schedule, total_steps, bits, grad_bits)
    params = schedule.to_dict()
    lines = [
        f"{schedule.label}",
        "  " + "  ".join(f"{key}={value}" for key, value in params.items()),
        f"  {total_steps} steps: warm-up {summary['warmup_steps']}, "
        f"period {summary['period_steps']} steps x {schedule.num_cycles}, "
        f"cool-down {summary['cooldown_steps']}",
        f"  mean bits {summary['mean_bits']:.3f}   mean grad bits {summary['mean_grad_bits']:.3f}",
        f"  cost vs FP32 {summary['relative_cost']:.4f}   vs static 8/8 "
        f"{summary['relative_cost_vs_8_8']:.3f}",
        f"  bits {int(bits.min()):>2} {sparkline(bits)} {int(bits.max())}",
    ]
    if not np.array_equal(bits, grad_bits):
        lines.append(f"  grad {int(grad_bits.min()):>2} {sparkline(grad_bits)} {int(grad_bits.max())}")
    return "\n".join(lines)
