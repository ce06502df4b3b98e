"""Sampler factories: a space's ``sampler`` section -> an Optuna sampler (optimizer bridge).

A table of names to small factories, as Ray Tune's ``tune/search/__init__.py`` keeps its searchers.
Options are the sampler's own constructor keywords, checked by name against its signature so a
typo is one :class:`~cpt_search.errors.ConfigError` line, not a ``TypeError`` deep in Optuna.
Keywords that take Python objects (strategies, mutation, gamma functions) cannot come from YAML and
are refused; ``crossover`` of ``nsga2`` takes a name (``uniform``, ``blxalpha``, ``sbx``, ``vsbx``,
``undx``, ``spx``).

The names and classes are registered in :mod:`cpt_search.sampler_registry` (no Optuna import).

Constraints: Optuna 5 reads them from the trial itself (``Trial.set_constraint``; this project never
passes the deprecated sampler argument ``constraints_func``), and :func:`cpt_search.search.suggest.suggest_schedule`
sets ``max_relative_cost`` = ``relative_cost - max_relative_cost`` on every trial of a constrained
space before it is trained. nsga2 (constrained domination), tpe (infeasible trials in the "bad"
group) and gp (a constraint model) use it; ``random`` ignores it (the runner still never trains an
infeasible schedule); ``study.best_trials`` leaves infeasible trials out.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from typing import Any

import optuna

from cpt_search.errors import ConfigError
from cpt_search.sampler_registry import SAMPLERS, SamplerEntry
from cpt_search.space import SearchSpace

logger = logging.getLogger(__name__)

# Constructor keywords that take Python objects, or that the factory sets itself.
_RESERVED = {"self", "seed", "constraints_func"}
_OBJECT_OPTIONS = {"mutation", "elite_population_selection_strategy", "child_generation_strategy",
                   "after_trial_strategy", "gamma", "weights", "independent_sampler",
                   "reference_points"}
_CROSSOVERS = {
    "uniform": "UniformCrossover", "blxalpha": "BLXAlphaCrossover", "sbx": "SBXCrossover",
    "vsbx": "VSBXCrossover", "undx": "UNDXCrossover", "spx": "SPXCrossover",
}


class SamplerFactory:
    """Builds the sampler of a :class:`~cpt_search.sampler_registry.SamplerEntry` for a space."""

    def __init__(self, entry: SamplerEntry) -> None:
        self.entry = entry
        self.name = entry.name
        self.sampler_cls = entry.resolve()
        self.takes_constraints = entry.takes_constraints
        self.defaults = entry.defaults

    def option_names(self) -> list[str]:
        """Constructor keywords a space may set under ``sampler.options``."""
        params = inspect.signature(self.sampler_cls.__init__).parameters
        return [name for name in params if name not in _RESERVED and name not in _OBJECT_OPTIONS]

    def build(self, space: SearchSpace) -> optuna.samplers.BaseSampler:
        """The sampler for ``space`` (seeded, options applied, constraints wired)."""
        where = space.source
        allowed = self.option_names()
        options: dict[str, Any] = {}
        for key, make in (self.defaults or {}).items():
            options[key] = make(space)
        for key, value in space.sampler.options.items():
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(f"unknown option of sampler {self.name}", where=where,
                                  key=f"sampler.options.{key}", value=value,
                                  fix=f"{hint}known options: {', '.join(allowed) or 'none'}")
            options[key] = _convert(self.name, key, value, where)
        if not self.takes_constraints and space.constraints.max_relative_cost is not None:
            logger.info("sampler %s takes no constraints: infeasible schedules are skipped by the "
                        "runner, not modelled", self.name)
        try:
            return self.sampler_cls(seed=space.sampler.seed, **options)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"sampler {self.name} rejected its options: {error}", where=where,
                              key="sampler.options", value=dict(space.sampler.options),
                              fix="see the Optuna documentation of " + self.sampler_cls.__name__) from None


def _convert(sampler: str, key: str, value: Any, where: str) -> Any:
    if key == "crossover":
        if value not in _CROSSOVERS:
            raise ConfigError(f"unknown crossover of sampler {sampler}", where=where,
                              key="sampler.options.crossover", value=value,
                              fix=f"use one of: {', '.join(_CROSSOVERS)}")
        return getattr(optuna.samplers.nsgaii, _CROSSOVERS[value])()
    return value


def make_sampler(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The Optuna sampler a space asks for.

    Raises:
        ConfigError: an unknown option (named), a bad crossover name, or values Optuna rejects.
    """
    entry = SAMPLERS.get(space.sampler.name, where=space.source, key="sampler.name")
    return SamplerFactory(entry).build(space)
