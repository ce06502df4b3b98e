"""``cpt-search train``: train one task once under one schedule and print its metric and cost."""

from __future__ import annotations

import json
import sys

import click

from cpt_search.cli.params import SEED, bounded_int
from cpt_search.cli.schedule_options import with_schedule
from cpt_search.limits import MAX_THREADS
from cpt_search.schedule import Schedule


def _header(metric_name: str, test_metric_name: str | None) -> str:
    return (f"{'epoch':>5} {'step':>7} {'loss':>8} {metric_name:>13} {test_metric_name or 'test':>13} "
            f"{'mean_bits':>9} {'GBitOPs':>12} {'seconds':>8}")


def _row(record) -> str:
    """One fixed-width row; the metric columns (validation, then test) are accuracy or bits per
    character, per the task."""
    test = "-" if record.test_metric is None else f"{record.test_metric:.4f}"
    return (f"{record.epoch:>5d} {record.step:>7d} {record.loss:>8.4f} {record.metric:>13.4f} "
            f"{test:>13} {record.mean_bits_so_far:>9.3f} {record.bitops_so_far / 1e9:>12.1f} "
            f"{record.seconds:>8.1f}")


@click.command("train")
@click.option("--task", required=True, help="A registered task, e.g. fashion-mnist/cnn, cora/gcn.")
@click.option("--budget", default="default", show_default=True,
              help="tiny (seconds, tests), default (CPU searches) or paper (the papers', GPU).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed (0..2**32-1).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder laid out like shared/data [default: $CPT_SEARCH_DATA, then system dirs].")
@click.option("--download", is_flag=True, help="Allow the standard dataset download if files are missing.")
@click.option("--device", help="cpu, cuda, cuda:N [default: cuda when available].")
@click.option("--threads", type=bounded_int(1, MAX_THREADS), help="torch threads for this run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@with_schedule
def train(task: str, budget: str, seed: int, data_dir: str | None, download: bool,
          device: str | None, threads: int | None, as_json: bool, schedule: Schedule) -> None:
    """Train one task once under a precision schedule (default: CR 3-8/8, 8 cycles)."""
    from tqdm import tqdm

    from cpt_search.tasks.resolve import resolve_task
    from cpt_search.training import TrialSpec, run_trial

    entry = resolve_task(task, where="--task", key="--task")
    entry.check_budget(budget, where="--budget", key="--budget")  # before any data is touched
    spec = TrialSpec(task=task, budget=budget, schedule=schedule, seed=seed, data_dir=data_dir,
                     download=download, device=device, threads=threads)

    def on_epoch(record) -> None:
        if not as_json:
            tqdm.write(_row(record), file=sys.stdout)

    if not as_json:
        click.echo(f"{task} ({budget} budget, seed {seed}) under {schedule.label}; "
                   f"metric: {entry.metric_name} ({'higher' if entry.higher_is_better else 'lower'}"
                   f" is better)")
        click.echo(_header(entry.metric_name, entry.test_metric_name))
    result = run_trial(spec, on_epoch=on_epoch, progress=not as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict(with_epochs=False), sort_keys=True))
        return
    test = ("" if result.test_metric is None
            else f"{result.test_metric_name or 'test'} {result.test_metric:.4f}  ")
    click.echo(
        f"\n{result.metric_name} {result.metric:.4f}  {test}"
        f"mean bits {result.mean_bits:.2f}/{result.mean_grad_bits:.2f}\n"
        f"training BitOPs {result.bitops:.4g} (per layer), {result.paper_bitops:.4g} (paper), "
        f"cost vs FP32 {result.relative_cost:.4f}, vs static 8/8 {result.relative_cost_vs_8_8:.3f}\n"
        f"{result.total_steps} steps in {result.seconds:.1f} s on {result.device}"
    )
