"""``cpt-search confirm NAME``: run or resume the seed confirmation of a finished search."""

from __future__ import annotations

import click

from cpt_search.cli.params import SEED, bounded_int
from cpt_search.cli.search_cmd import _front_table, _quiet_libraries, store_option, tracking_option
from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_CONCURRENCY, MAX_SEEDS, MAX_TRIALS
from cpt_search.store import DEFAULT_STORE_DIR


def _seeds(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``--seeds 1,2,3`` as a tuple of seeds (unique, within the seed range)."""
    if value is None:
        return None
    seeds = []
    for part in value.split(","):
        try:
            seeds.append(SEED.convert(int(part.strip()), param, ctx))
        except (ValueError, click.BadParameter):
            raise ConfigError("seeds must be whole numbers in 0..2**32-1, separated by commas", key="--seeds",
                              value=value, fix="pass e.g. --seeds 1,2,3") from None
    if not seeds or len(seeds) > MAX_SEEDS or len(set(seeds)) != len(seeds):
        raise ConfigError(f"give 1 to {MAX_SEEDS} different seeds", key="--seeds", value=value,
                          fix="pass e.g. --seeds 1,2,3")
    return tuple(seeds)


@click.command("confirm")
@click.argument("name")
@click.option("--seeds", callback=_seeds, help="Confirm seeds, e.g. 1,2,3 [default: the space's confirm: "
              "section, else the four seeds after the search's].")
@click.option("--max-trainings", type=bounded_int(0, MAX_TRIALS),
              help="Most extra trainings in all [default: the space's, else 24].")
@click.option("--concurrency", type=bounded_int(1, MAX_CONCURRENCY), help="Trainings at once [default: the search's].")
@store_option
@tracking_option
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data root for the task's dataset.")
@click.option("--ray-address", default=None, help="Join this Ray cluster [default: a local Ray].")
@click.option("--no-mlflow", is_flag=True, help="Do not record the confirmation in MLflow.")
@click.pass_context
def confirm(ctx: click.Context, name: str, seeds: tuple[int, ...] | None, max_trainings: int | None,
            concurrency: int | None, store: str, tracking_uri: str | None, data_dir: str | None,
            ray_address: str | None, no_mlflow: bool) -> None:
    """Retrain the front of search NAME (and every trial plausibly on it) on more seeds until each is
    clearly on or off the front, or the budget is spent (docs/confirmation.md).

    Rerunning resumes; a (schedule, seed) pair that finished is never trained again. ``front`` and
    ``export`` then use the confirmed values.
    """
    from cpt_search.orchestrate.confirm import ConfirmRequest, run_confirmation

    _quiet_libraries(bool((ctx.obj or {}).get("debug")), with_ray=True)
    request = ConfirmRequest(name=name, seeds=seeds, max_trainings=max_trainings, concurrency=concurrency,
                             store_dir=store, tracking_uri=tracking_uri, tracking=not no_mlflow,
                             data_dir=data_dir, ray_address=ray_address)
    outcome = run_confirmation(request, say=lambda message: click.echo(f"# {message}"))
    front = outcome.front
    state = "finished" if outcome.complete else "stopped early (rerun the same command to resume)"
    click.echo(f"confirmation of {name!r} {state}: {outcome.trained_now} trainings now, {outcome.trainings} "
               f"in all (budget {outcome.settings.max_trainings}), {outcome.rounds} round(s)")
    click.echo(f"seed-confirmed Pareto front ({len(front.members)}), hypervolume {front.hypervolume:.4f}:")
    click.echo(_front_table(front))
    store_flag = "" if store == DEFAULT_STORE_DIR else f" --store {store}"
    click.echo(f"export       cpt-search export {name}{store_flag} --pick knee -o best.yaml")
    if not outcome.complete:
        raise SystemExit(130)
