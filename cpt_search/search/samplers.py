"""Sampler factories: a space's ``sampler`` section -> an Optuna sampler (optimizer bridge).

A table of names to small factories, as Ray Tune's ``tune/search/__init__.py`` keeps its searchers.
Options are the sampler's own constructor keywords, checked by name against its signature so a
typo is one :class:`~cpt_search.errors.ConfigError` line, not a ``TypeError`` deep in Optuna.
Keywords that take Python objects (strategies, mutation, gamma functions) cannot come from YAML and
are refused; ``crossover`` of ``nsga2`` takes a name (``uniform``, ``blxalpha``, ``sbx``, ``vsbx``,
``undx``, ``spx``).

The names and classes are registered in :mod:`cpt_search.sampler_registry` (no Optuna import).

Every option is checked before Optuna sees it (:func:`check_option`): its type comes from the
constructor's annotation (``int``, ``float``, ``bool``, optionally ``None``), floats must be finite,
and ranges Optuna accepts although they are nonsense are refused (``population_size < 2``,
``n_startup_trials < 0``, probabilities outside ``0..1``); integers are bounded so a typo such as
``1e30`` never sizes an allocation. The seed is checked as ``sampler.seed``.

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
import math
from typing import Any

import optuna

from cpt_search.errors import ConfigError
from cpt_search.limits import MAX_TRIALS, check_seed
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


# (low, high, low is exclusive) of options whose sensible range Optuna does not enforce up front.
_OPTION_RANGES: dict[str, tuple[float, float, bool]] = {
    "population_size": (2, 10_000, False),   # NSGA-II needs two parents (Deb et al., 2002)
    "n_startup_trials": (0, MAX_TRIALS, False),
    "n_ei_candidates": (1, 10_000, False),
    "mutation_prob": (0.0, 1.0, False),
    "crossover_prob": (0.0, 1.0, False),
    "swapping_prob": (0.0, 1.0, False),
    "prior_weight": (0.0, 1e6, True),
}
_INT_RANGE = (0, 10**6, False)   # any other integer option: a count, never negative or huge
_FLOAT_RANGE = (-1e12, 1e12, False)


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
        params = inspect.signature(self.sampler_cls).parameters  # the constructor's, without self
        return [name for name in params if name not in _RESERVED and name not in _OBJECT_OPTIONS]

    def _annotation(self, key: str) -> Any:
        return inspect.signature(self.sampler_cls).parameters[key].annotation

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
            if key != "crossover":
                check_option(self.name, key, value, self._annotation(key), where=where)
        seed = space.sampler.seed
        if seed is not None:
            check_seed(seed, key="sampler.seed", where=where)
        if not self.takes_constraints and space.constraints.max_relative_cost is not None:
            logger.info("sampler %s takes no constraints: infeasible schedules are skipped by the "
                        "runner, not modelled", self.name)
        try:
            return self.sampler_cls(seed=space.sampler.seed, **options)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"sampler {self.name} rejected its options: {error}", where=where,
                              key="sampler.options", value=dict(space.sampler.options),
                              fix="see the Optuna documentation of " + self.sampler_cls.__name__) from None


def check_option(sampler: str, key: str, value: Any, annotation: Any, *, where: str | None = None) -> None:
    """Check one option against its constructor annotation and :data:`_OPTION_RANGES`.

    Annotations are read as the strings Optuna's ``from __future__ import annotations`` leaves
    (``"int"``, ``"float | None"``, ``"bool | None"``); an option of another type (a name, an object)
    is left to Optuna.

    Raises:
        ConfigError: a value of the wrong type, nan or inf, or out of range, keyed
            ``sampler.options.KEY``.
    """
    kinds = _annotation_kinds(annotation)
    scalar = kinds - {"None"}
    if not scalar or not scalar <= {"int", "float", "bool"}:
        return
    full_key = f"sampler.options.{key}"
    if value is None:
        if "None" in kinds:
            return
        raise ConfigError(f"option {key} of sampler {sampler} cannot be null", where=where, key=full_key,
                          value=value, fix=f"give a {' or '.join(sorted(scalar))}, or leave the option out")
    if scalar == {"bool"}:
        if not isinstance(value, bool):
            raise ConfigError(f"option {key} of sampler {sampler} must be true or false", where=where,
                              key=full_key, value=value, fix="use true or false")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or ("float" not in scalar and not isinstance(value, int)):
        kind = "an integer" if "float" not in scalar else "a number"
        raise ConfigError(f"option {key} of sampler {sampler} must be {kind}", where=where, key=full_key,
                          value=value, fix=f"use {kind}" + (" (no decimal point)" if kind == "an integer" else ""))
    if not math.isfinite(value):
        raise ConfigError(f"option {key} of sampler {sampler} must be finite", where=where, key=full_key,
                          value=value, fix="use a finite number")
    low, high, low_open = _OPTION_RANGES.get(key, _INT_RANGE if "float" not in scalar else _FLOAT_RANGE)
    if (value <= low if low_open else value < low) or value > high:
        rule = f"{low:g} {'<' if low_open else '<='} {key} <= {high:g}"
        raise ConfigError(f"{rule} must hold for sampler {sampler}", where=where, key=full_key, value=value,
                          fix=f"use a value in that range (see the Optuna documentation of {key})")


def _annotation_kinds(annotation: Any) -> set[str]:
    if annotation is inspect.Parameter.empty:
        return set()
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return {part.strip() for part in text.split("|")}


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
