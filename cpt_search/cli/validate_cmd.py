"""``cpt-search validate SPACE.yaml``: check search spaces without training anything.

Loads each file strictly (:func:`cpt_search.space.load_space`), builds its sampler (so a bad sampler
option fails here, not minutes into a run), prints the resolved dimensions, the baselines with their
costs, and the range of relative training cost over random samples of the space, with the share
that meets the cost constraint. The first bad file ends the command with its one-line error
(exit status 2).
"""

from __future__ import annotations

import logging
import warnings

import click
import numpy as np

from cpt_search.search.feasibility import check_constraint_reachable
from cpt_search.space import SearchSpace, load_space


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--samples", type=click.IntRange(min=1, max=100_000), default=256, show_default=True,
              help="Random schedules drawn to estimate the space's cost range.")
def validate(paths: tuple[str, ...], samples: int) -> None:
    """Check search-space YAML files and print their resolved dimensions."""
    for index, path in enumerate(paths):
        space = load_space(path)
        check_constraint_reachable(space)  # an impossible max_relative_cost is an error, not 0 %
        costs = _sample_costs(space, samples)  # also builds the sampler: bad options fail here
        if index:
            click.echo("")
        click.echo(space.describe())
        click.echo(_baseline_lines(space))
        click.echo(_cost_line(space, costs))
        total = f"{space.num_trials} sampled trials"
        if space.include_baselines:
            total += f" + {len(space.baseline_schedules())} baselines"
        click.echo(f"ok: {path} is a valid search space ({total})")


def _sample_costs(space: SearchSpace, samples: int) -> np.ndarray:
    """Relative costs of ``samples`` schedules drawn uniformly at random from the space."""
    import optuna

    from cpt_search.search.samplers import make_sampler
    from cpt_search.search.suggest import suggest_schedule

    make_sampler(space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    study = optuna.create_study(directions=[optuna.study.StudyDirection[d.upper()] for d in space.directions],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    costs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature notices are noise here
        for _ in range(samples):
            trial = study.ask()
            suggest_schedule(space, trial)
            costs.append(trial.user_attrs["relative_cost"])
    return np.asarray(costs)


def _baseline_lines(space: SearchSpace) -> str:
    if not space.include_baselines:
        return "  baselines  none (include_baselines: false)"
    from cpt_search.search.suggest import is_feasible, relative_cost_of

    parts = []
    for label, schedule in space.baseline_schedules():
        mark = "" if is_feasible(space, schedule) else "*"
        parts.append(f"{label} {relative_cost_of(space, schedule):.3f}{mark}")
    note = "  (* over the constraint: trained for comparison, never on the front)" \
        if any(p.endswith("*") for p in parts) else ""
    return f"  baseline costs (vs FP32): {', '.join(parts)}{note}"


def _cost_line(space: SearchSpace, costs: np.ndarray) -> str:
    text = (f"  cost range relative to FP32 over {len(costs)} random samples: "
            f"{costs.min():.4f}..{costs.max():.4f} (median {np.median(costs):.4f}) "
            f"at {space.cost_steps} steps")
    limit = space.constraints.max_relative_cost
    if limit is not None:
        share = float(np.mean(costs <= limit))
        text += f"; {share:.0%} meet max_relative_cost {limit:g}"
        if share == 0.0:
            text += " (none: loosen the constraint or lower the bits)"
    return text
