"""Sampler factories: a space's ``sampler`` section -> an Optuna sampler (optimizer bridge).

A table of names to small factories, as Ray Tune's ``tune/search/__init__.py`` keeps its searchers.
Options are the sampler's own constructor keywords, checked by name against its signature so a
typo is one :class:`~cpt_search.errors.ConfigError` line, not a ``TypeError`` deep in Optuna.
Keywords that take Python objects (strategies, mutation, gamma functions) cannot come from YAML and
are refused; ``crossover`` of ``nsga2`` takes a name (``uniform``, ``blxalpha``, ``sbx``, ``vsbx``,
``undx``, ``spx``).

Constraints: Optuna 5 reads them from the trial itself (``Trial.set_constraint``; the sampler
argument ``constraints_func`` is deprecated), and :func:`cpt_search.search.suggest.suggest_schedule`
sets ``max_relative_cost`` = ``relative_cost - max_relative_cost`` on every trial of a constrained
space before it is trained. nsga2 (constrained domination), tpe (infeasible trials in the "bad"
group) and gp (a constraint model) use it; ``random`` ignores it (the runner still never trains an
infeasible schedule); ``study.best_trials`` leaves infeasible trials out.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import optuna

from cpt_search.errors import ConfigError
from cpt_search.registry import Registry
from cpt_search.space import SAMPLER_NAMES, SearchSpace

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


@dataclass(frozen=True)
class SamplerFactory:
    """How to build one kind of sampler.

    Attributes:
        name: the space-file name (``nsga2``, ``tpe``, ``gp``, ``random``).
        sampler_cls: the Optuna class.
        takes_constraints: whether it models trial constraints (``Trial.set_constraint``).
        defaults: options applied when the space does not set them, as functions of the space.
        summary: one line for help texts.
    """

    name: str
    sampler_cls: type
    takes_constraints: bool
    summary: str
    defaults: Mapping[str, Callable[[SearchSpace], Any]] = None  # type: ignore[assignment]

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


def _nsga2_population(space: SearchSpace) -> int:
    # Enough generations to evolve within the budget: about a third of the trials, 4..50.
    return max(4, min(50, space.num_trials // 3))


def _convert(sampler: str, key: str, value: Any, where: str) -> Any:
    if key == "crossover":
        if value not in _CROSSOVERS:
            raise ConfigError(f"unknown crossover of sampler {sampler}", where=where,
                              key="sampler.options.crossover", value=value,
                              fix=f"use one of: {', '.join(_CROSSOVERS)}")
        return getattr(optuna.samplers.nsgaii, _CROSSOVERS[value])()
    return value


SAMPLERS: Registry[SamplerFactory] = Registry("sampler")
for _factory in (
    SamplerFactory("nsga2", optuna.samplers.NSGAIISampler, True,
                   "NSGA-II evolutionary multi-objective search (default)",
                   defaults={"population_size": _nsga2_population}),
    SamplerFactory("tpe", optuna.samplers.TPESampler, True,
                   "multi-objective TPE (constant liar on, for parallel trials)"),
    SamplerFactory("gp", optuna.samplers.GPSampler, True,
                   "Gaussian-process Bayesian optimisation (needs torch)",
                   # conditional dimensions (flip, warmup_bits) are sampled independently by design
                   defaults={"warn_independent_sampling": lambda space: False}),
    SamplerFactory("random", optuna.samplers.RandomSampler, False, "uniform random sampling"),
):
    SAMPLERS.register(_factory.name, _factory)
assert tuple(SAMPLERS.names()) == SAMPLER_NAMES, "space.SAMPLER_NAMES and SAMPLERS must agree"


def make_sampler(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The Optuna sampler a space asks for.

    Raises:
        ConfigError: an unknown option (named), a bad crossover name, or values Optuna rejects.
    """
    factory = SAMPLERS.get(space.sampler.name, where=space.source, key="sampler.name")
    return factory.build(space)
