"""``cpt-search check-task module:attribute``: run the task contract on a user's task, one line per problem.

The checks are :func:`cpt_search.testing.check_task` (the same suite a test can call). The import
string is looked up in the current folder first, then on the Python path. Problems end the command
with exit status 2, like any bad input.
"""

from __future__ import annotations

import os

import click

from cpt_search.cli.params import SEED
from cpt_search.errors import ConfigError


@click.command("check-task")
@click.argument("task")
@click.option("--budget", help="Budget name [default: tiny when the task has one, else default]; for a "
                               "training function also a YAML mapping, e.g. '{epochs: 1}'.")
@click.option("--epochs", type=click.IntRange(1, 10_000), help="Train this many epochs (task classes).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the check's training.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data root passed to the task.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N.")
def check_task(task: str, budget: str | None, epochs: int | None, seed: int, data_dir: str | None,
               device: str) -> None:
    """Check that TASK (module:attribute, or a registered name) keeps the task contract."""
    from cpt_search.testing import check_task as run_checks

    report = run_checks(task, _budget(budget), budget_overrides={"epochs": epochs} if epochs else None,
                        data_dir=data_dir, device=device, seed=seed, search_dirs=(os.getcwd(),))
    for note in report.notes:
        click.echo(f"note: {note}")
    if not report.ok:
        for problem in report.problems[:-1]:
            click.echo(f"error: {task}: {problem}", err=True)
        last = report.problems[-1]
        raise ConfigError(str(last), where=task)  # the CLI prints it as the last line, exit 2
    result = report.result
    click.echo(f"ok: {task} keeps the task contract ({', '.join(report.passed)}); budget {report.budget}: "
               f"{result.total_steps} steps under {result.schedule_label} in {report.seconds:.1f} s, "
               f"{result.metric_name} {result.metric:.4f}")


def _budget(text: str | None):
    """A budget name, or a YAML flow mapping (training functions)."""
    if text is None or not text.lstrip().startswith("{"):
        return text
    from cpt_search.yaml_io import compose_yaml, construct_yaml

    value = construct_yaml(compose_yaml(text, "--budget"), "--budget")
    if not isinstance(value, dict):
        raise ConfigError("a budget mapping must be a YAML mapping", where="--budget", value=text,
                          fix="write e.g. --budget '{epochs: 1, lr: 0.01}'")
    return value
