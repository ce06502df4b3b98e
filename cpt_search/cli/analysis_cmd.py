"""``cpt-search reproduce``, ``critical-period`` and ``range-test``: the papers' analyses on a task.

``reproduce`` and ``critical-period`` are searches over a fixed list of (schedule, seed) jobs
(:mod:`cpt_search.orchestrate.analysis`): trained in parallel with Ray Tune, kept in the store's
Optuna study and recorded as MLflow runs under one parent (experiment ``cpt_search/NAME``); rerunning
the same command resumes. Reports (Markdown, CSV, JSON, PNG) go to ``--out`` (default
``STORE/reports/NAME``) and onto the parent run. ``range-test`` trains one short staircase in this
process. This module only parses flags and prints.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click

from cpt_search.cli.params import SEED, FiniteFloat, bounded_int
from cpt_search.errors import ConfigError
from cpt_search.limits import (
    MAX_CONCURRENCY,
    MAX_CPUS_PER_TRIAL,
    MAX_GPUS_PER_TRIAL,
    MAX_STEPS_PER_BITS,
    MAX_THREADS,
)

log = logging.getLogger(__name__)


def _echo(text: str, as_json: bool) -> None:
    """Human output: stdout for tables, stderr when stdout carries JSON."""
    click.echo(text, err=as_json)


def _runner_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Flags shared by the commands that train a job list through Ray Tune."""
    options = [
        click.option("--task", required=True, help="A registered task, e.g. cora/gcn."),
        click.option("--budget", default="default", show_default=True,
                     help="tiny (tests), default (CPU) or paper."),
        click.option("--seeds", default=3, show_default=True, type=int,  # bounded by check_seeds
                     help="Trainings per schedule (seeds 0..N-1)."),
        click.option("--concurrency", default=2, show_default=True, type=bounded_int(1, MAX_CONCURRENCY),
                     help="Trainings at once."),
        click.option("--cpus-per-trial", default=1, show_default=True,
                     type=bounded_int(1, int(MAX_CPUS_PER_TRIAL)),
                     help="CPUs (and torch threads) per training."),
        click.option("--gpus-per-trial", default=0.0, show_default=True,
                     type=FiniteFloat(0.0, MAX_GPUS_PER_TRIAL),
                     help="GPUs per training (fractions allowed)."),
        click.option("--store", "store_dir", type=click.Path(file_okay=False),
                     help="Store directory [default: ./cpt_search_runs]."),
        click.option("--tracking-uri", help="MLflow tracking URI [default: STORE/mlflow.db]."),
        click.option("--name", help="Analysis name (MLflow experiment cpt_search/NAME) "
                                    "[default: from the command's settings]."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False),
                     help="Where reports go [default: STORE/reports/NAME]."),
        click.option("--data-dir", type=click.Path(file_okay=False),
                     help="Data root [default: $CPT_SEARCH_DATA, then system dirs]."),
        click.option("--ray-address", help="Join this Ray cluster [default: a local loopback Ray]."),
        click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                     show_default=True, help="Print the table or one JSON document."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_task(task: str, budget: str):
    """The task's metadata; unknown task or budget -> one line naming the flag, before anything runs."""
    from cpt_search.tasks.resolve import resolve_task

    entry = resolve_task(task, where="--task", key="--task")
    entry.check_budget(budget, where="--budget", key="--budget")
    return entry


def _slug(task: str) -> str:
    return task.replace("/", "-")


def _progress_printer(total: int, metric_name: str, as_json: bool) -> Callable:
    done = [0]

    def on_outcome(outcome) -> None:
        done[0] += 1
        job = outcome.job
        if outcome.ok:
            result = outcome.result
            seconds = result.get("seconds")
            text = (f"{metric_name} {result['metric']:.4f}  cost {result.get('relative_cost', 0):.4f}"
                    + (f"  {seconds:.1f} s" if seconds is not None else ""))
        else:
            text = f"FAILED: {outcome.error}"
        _echo(f"[{done[0]:>3}/{total}] {job.row:<22} seed {job.seed}: {text}", as_json)

    return on_outcome


def _request(entry, budget: str, name: str, *, concurrency: int, cpus_per_trial: int,
             gpus_per_trial: float, store_dir: str | None, tracking_uri: str | None,
             out_dir: str | None, data_dir: str | None, ray_address: str | None):
    from cpt_search.orchestrate.analysis import AnalysisRequest

    return AnalysisRequest(task=entry.name, budget=budget, name=name, store_dir=store_dir,
                           tracking_uri=tracking_uri, concurrency=concurrency,
                           cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
                           data_dir=data_dir, ray_address=ray_address, out_dir=out_dir)


def _announce(kind: str, request, jobs: int, as_json: bool) -> None:
    _echo(f"{kind} {request.name}: {jobs} trainings of {request.task} ({request.budget}), "
          f"{request.concurrency} at once; store {request.store.root}", as_json)


# ---------------------------------------------------------------------- reproduce


@click.command("reproduce")
@_runner_options
@click.option("--min-bits", default=3, show_default=True, type=int, help="Presets' lowest forward bits.")
@click.option("--max-bits", default=8, show_default=True, type=int,
              help="Presets' highest forward bits (and the static baseline's).")
@click.option("--grad-bits", default=8, show_default=True, type=int, help="Gradient bits, held fixed.")
@click.option("--cycles", "num_cycles", default=8, show_default=True, type=int,
              help="Periods n of the presets.")
def reproduce(task: str, budget: str, seeds: int, concurrency: int, cpus_per_trial: int,
              gpus_per_trial: float, store_dir: str | None, tracking_uri: str | None,
              name: str | None, out_dir: str | None, data_dir: str | None,
              ray_address: str | None, fmt: str, min_bits: int, max_bits: int, grad_bits: int,
              num_cycles: int) -> None:
    """Train the ten Better Schedules presets and the static baselines over seeds; report the table,
    the Spearman correlation of cost and metric, and a plot."""
    from cpt_search.analysis.jobs import check_seeds, reproduce_jobs
    from cpt_search.orchestrate.analysis import run_reproduce
    from cpt_search.space.names import check_search_name

    as_json = fmt == "json"
    check_seeds(seeds)  # before the task: its registry imports torch
    entry = _check_task(task, budget)
    bounds = dict(min_bits=min_bits, max_bits=max_bits, grad_bits=grad_bits, num_cycles=num_cycles)
    jobs = reproduce_jobs(seeds, **bounds)  # bad bounds: one line before anything starts
    name = check_search_name(name or f"reproduce-{_slug(task)}-{budget}-b{min_bits}-{max_bits}"
                                      f"-g{grad_bits}-n{num_cycles}")
    request = _request(entry, budget, name, concurrency=concurrency, cpus_per_trial=cpus_per_trial,
                       gpus_per_trial=gpus_per_trial, store_dir=store_dir, tracking_uri=tracking_uri,
                       out_dir=out_dir, data_dir=data_dir, ray_address=ray_address)
    _announce("reproduce", request, len(jobs), as_json)
    done = run_reproduce(request, seeds=seeds, **bounds,
                         on_outcome=_progress_printer(len(jobs), entry.metric_name, as_json))
    if as_json:
        click.echo(json.dumps(done.document))
        return
    click.echo("")
    click.echo(done.report.table().markdown())
    for line in done.report.summary_lines():
        click.echo(line)
    click.echo(f"reports: {done.out}  (MLflow experiment cpt_search/{name} in {done.store.tracking_uri})")


# ---------------------------------------------------------------------- critical period


def _parse_fracs(text: str) -> list[float]:
    values = []
    for part in text.split(","):
        part = part.strip()
        try:
            values.append(float(part))
        except ValueError:
            raise ConfigError("window fractions must be numbers separated by commas",
                              key="--impair-fracs", value=text, fix="write e.g. 0,0.1,0.25,0.5") from None
    return values


@click.command("critical-period")
@_runner_options
@click.option("--impair-bits", default=3, show_default=True, type=int,
              help="Forward bits inside the window.")
@click.option("--impair-fracs", default="0,0.1,0.25,0.5", show_default=True,
              help="Window lengths as fractions of training (0 = unimpaired control).")
@click.option("--bits", "base_bits", default=8, show_default=True, type=int,
              help="Forward bits outside the window (and in evaluation).")
@click.option("--grad-bits", default=8, show_default=True, type=int, help="Gradient bits, held fixed.")
@click.option("--recovery-frac", default=0.0, show_default=True, type=FiniteFloat(0.0, 1.0),
              help="Fraction of training at --bits after each late window (0: late windows end the run).")
def critical_period(task: str, budget: str, seeds: int, concurrency: int, cpus_per_trial: int,
                    gpus_per_trial: float, store_dir: str | None, tracking_uri: str | None,
                    name: str | None, out_dir: str | None, data_dir: str | None,
                    ray_address: str | None, fmt: str, impair_bits: int, impair_fracs: str,
                    base_bits: int, grad_bits: int, recovery_frac: float) -> None:
    """Train with a low-precision window at the start and, as the control, at the end of training;
    report the damage vs window length (the critical-learning-period test)."""
    from cpt_search.analysis.jobs import check_seeds, critical_period_jobs
    from cpt_search.orchestrate.analysis import run_critical_period
    from cpt_search.space.names import check_search_name

    as_json = fmt == "json"
    check_seeds(seeds)  # before the task: its registry imports torch
    entry = _check_task(task, budget)
    fracs = _parse_fracs(impair_fracs)
    jobs = critical_period_jobs(seeds, impair_bits=impair_bits, base_bits=base_bits,
                                grad_bits=grad_bits, impair_fracs=fracs, recovery_frac=recovery_frac)
    recovery = f"-r{recovery_frac:g}" if recovery_frac else ""
    name = check_search_name(name or f"critical-{_slug(task)}-{budget}-i{impair_bits}-b{base_bits}"
                                      f"-g{grad_bits}{recovery}")
    request = _request(entry, budget, name, concurrency=concurrency, cpus_per_trial=cpus_per_trial,
                       gpus_per_trial=gpus_per_trial, store_dir=store_dir, tracking_uri=tracking_uri,
                       out_dir=out_dir, data_dir=data_dir, ray_address=ray_address)
    _announce("critical-period", request, len(jobs), as_json)
    done = run_critical_period(request, seeds=seeds, impair_bits=impair_bits, base_bits=base_bits,
                               grad_bits=grad_bits, impair_fracs=fracs, recovery_frac=recovery_frac,
                               on_outcome=_progress_printer(len(jobs), entry.metric_name, as_json))
    if as_json:
        click.echo(json.dumps(done.document))
        return
    click.echo("")
    click.echo(done.report.table().markdown())
    click.echo(done.report.pairs_table().markdown())
    click.echo(f"reports: {done.out}  (MLflow experiment cpt_search/{name} in {done.store.tracking_uri})")


# ---------------------------------------------------------------------- range test


@click.command("range-test")
@click.option("--task", required=True, help="A registered task, e.g. cora/gcn.")
@click.option("--budget", default="default", show_default=True,
              help="Whose data, model and learning rate to use.")
@click.option("--start-bits", default=2, show_default=True, type=int, help="Lowest forward bits tried.")
@click.option("--max-bits", default=8, show_default=True, type=int, help="Highest forward bits tried.")
@click.option("--steps-per-bits", default=50, show_default=True, type=bounded_int(1, MAX_STEPS_PER_BITS),
              help="Training steps at each precision.")
@click.option("--grad-bits", default=8, show_default=True, type=int, help="Gradient bits, held fixed.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed (0..2**32-1).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data root.")
@click.option("--device", help="cpu, cuda, cuda:N [default: cuda when available].")
@click.option("--threads", type=bounded_int(1, MAX_THREADS), help="torch threads.")
@click.option("--write-space", type=click.Path(dir_okay=False),
              help="Write a search space YAML seeded by the suggested bounds.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Save the loss curve over the staircase as a PNG.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Print the table or one JSON document.")
def range_test(task: str, budget: str, start_bits: int, max_bits: int, steps_per_bits: int,
               grad_bits: int, seed: int, data_dir: str | None, device: str | None,
               threads: int | None, write_space: str | None, plot_path: str | None,
               fmt: str) -> None:
    """CPT's precision range test: train briefly at rising forward precision and suggest min_bits."""
    import yaml

    from cpt_search.analysis.range_run import check_range, run_range_test
    from cpt_search.analysis.range_test import space_from_range_test
    from cpt_search.analysis.tables import Table
    from cpt_search.bits import check_bits
    from cpt_search.output_paths import check_output_path, check_plot_path, write_text, writing

    as_json = fmt == "json"
    # Outputs first: a bad path must not be found only after the training.
    if write_space is not None:
        write_space = str(check_output_path(write_space, flag="--write-space", suffixes=("yaml", "yml")))
    if plot_path is not None:
        plot_path = str(check_plot_path(plot_path, flag="--plot"))
    _check_task(task, budget)
    bits_list = check_range(start_bits, max_bits, steps_per_bits)
    check_bits("--grad-bits", grad_bits)
    run = run_range_test(task, bits_list, steps_per_bits, grad_bits=grad_bits, budget=budget,
                         seed=seed, data_dir=data_dir, device=device, threads=threads)
    score = run.score
    document = run.to_json()
    space = None
    if score.suggested_min_bits is not None and score.suggested_min_bits < max_bits:
        space = space_from_range_test(task, budget, score.suggested_min_bits, max_bits, grad_bits)
        document["space"] = space
    if write_space is not None:
        if space is None:
            raise ConfigError("no precision below --max-bits passed the range test, so there is no "
                              "range to search", key="--write-space", value=write_space,
                              fix="raise --max-bits or --steps-per-bits, or inspect the curve")
        write_text(write_space, yaml.safe_dump(space, sort_keys=False), flag="--write-space")
    if plot_path is not None:
        from cpt_search.analysis.plots import plot_range_test

        with writing(plot_path, flag="--plot"):
            Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
            plot_range_test(run.losses, bits_list, steps_per_bits, score.suggested_min_bits, plot_path,
                            title=f"{task} ({budget}): range test, suggested min_bits = "
                                  f"{score.suggested_min_bits}")
    if as_json:
        click.echo(json.dumps(document))
        return
    stages = document["stages"]
    test = (f"{run.test_metric_name} at stage end",) if run.test_metric_name else ()
    table = Table(("bits", "steps", "loss before (prev. end)", "loss at stage end", "improvement", "noise (se)",
                   "works", f"{run.metric_name} at stage end", *test),
                  tuple((s.bits, s.steps, s.head_mean, s.tail_mean, s.improvement, s.noise, s.works,
                         row["metric"], *((row["test_metric"],) if test else ()))
                        for s, row in zip(score.stages, stages)),
                  ("", "", ".4f", ".4f", "+.4f", ".4f", "", ".4f", *((".4f",) if test else ())))
    click.echo(f"{task} ({budget}): range test, {steps_per_bits} steps at each of "
               f"{bits_list[0]}..{bits_list[-1]} bits (gradients {grad_bits}), {run.seconds:.1f} s\n")
    click.echo(table.markdown())
    click.echo(f"rule: {score.rule}")
    click.echo(f"{run.metric_name}{' and ' + run.test_metric_name if run.test_metric_name else ''}: the model "
               f"at the end of each stage, evaluated at that stage's bits; reported, never used by the rule")
    click.echo(f"suggested min_bits: {score.suggested_min_bits}")
    if space is not None:
        if write_space:
            click.echo(f"search space written to {write_space}")
        else:
            click.echo("search space fragment (--write-space FILE to save it):")
            click.echo(yaml.safe_dump({"schedule": space["schedule"]}, sort_keys=False).rstrip())
    sys.stdout.flush()
