"""``cpt-search sync NAME``: record in MLflow what the search's Optuna study holds."""

from __future__ import annotations

import click

from cpt_search.cli.search_cmd import _quiet_libraries, store_option, tracking_option
from cpt_search.store import Store


@click.command("sync")
@click.argument("name")
@store_option
@tracking_option
@click.pass_context
def sync(ctx: click.Context, name: str, store: str, tracking_uri: str | None) -> None:
    """Make MLflow agree with search NAME's Optuna study (the source of truth).

    Run it after the tracking server was unreachable while the search ended, or for a search run
    with --no-mlflow: missing trial runs are created with their final values, unfinished ones are
    closed or retired, the front is re-tagged and its files are written. Syncing twice changes
    nothing the second time.
    """
    from cpt_search.orchestrate.sync import sync_search

    _quiet_libraries(bool((ctx.obj or {}).get("debug")))
    where = Store.at(store, tracking_uri)
    outcome = sync_search(where, name)
    state = "complete" if outcome.complete else "not complete (rerun 'cpt-search run' to resume it)"
    click.echo(f"synced {name!r}: {outcome.finished} finished trials, {outcome.runs} trial runs in MLflow "
               f"({outcome.repaired} repaired); the search is {state}")
    click.echo(f"MLflow {where.tracking_uri}, experiment {outcome.experiment!r}, parent run {outcome.parent_run_id}")
