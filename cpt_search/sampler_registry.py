"""The registry of samplers a search space may name (torch- and Optuna-free).

Each entry names its Optuna sampler class by import string, so validating a space never imports
Optuna (the table of names to lazy imports that Ray Tune's ``tune/search/__init__.py`` keeps for its
searchers). :func:`cpt_search.search.samplers.make_sampler` builds the sampler; registering an entry
here is all it takes for a new sampler to be accepted in YAML, listed in errors and built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from cpt_search.registry import Registry


@dataclass(frozen=True)
class SamplerEntry:
    """How to build one kind of sampler.

    Attributes:
        name: the space-file name (``nsga2``, ``tpe``, ``gp``, ``random``).
        sampler_class: the sampler class, or its ``"module:Class"`` import string (imported when
            the sampler is built).
        takes_constraints: whether it models trial constraints (``Trial.set_constraint``).
        summary: one line for help texts.
        defaults: options applied when the space does not set them, as functions of the space.
    """

    name: str
    sampler_class: str | type
    takes_constraints: bool
    summary: str
    defaults: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def resolve(self) -> type:
        """The sampler class (imports its module)."""
        if isinstance(self.sampler_class, str):
            module, _, name = self.sampler_class.partition(":")
            return getattr(importlib.import_module(module), name)
        return self.sampler_class


def _nsga2_population(space: Any) -> int:
    # Enough generations to evolve within the budget: about a third of the trials, 4..50.
    return max(4, min(50, space.num_trials // 3))


def register_sampler(entry: SamplerEntry) -> SamplerEntry:
    """Add a sampler to :data:`SAMPLERS` (its name must be new); returns it."""
    return SAMPLERS.register(entry.name, entry)


# Installed packages add samplers under the entry-point group ``cpt_search.samplers``.
SAMPLERS: Registry[SamplerEntry] = Registry("sampler", plugins="cpt_search.samplers", entry_type=SamplerEntry,
                                           adopt=lambda name, entry: register_sampler(entry))


for _entry in (
    SamplerEntry("nsga2", "optuna.samplers:NSGAIISampler", True,
                 "NSGA-II evolutionary multi-objective search (default)",
                 defaults={"population_size": _nsga2_population}),
    SamplerEntry("tpe", "optuna.samplers:TPESampler", True,
                 "multi-objective TPE (optuna 5 turns its constant liar on by default)"),
    SamplerEntry("gp", "optuna.samplers:GPSampler", True,
                 "Gaussian-process Bayesian optimisation (needs torch)",
                 # conditional dimensions (flip, warmup_bits) are sampled independently by design
                 defaults={"warn_independent_sampling": lambda space: False}),
    SamplerEntry("random", "optuna.samplers:RandomSampler", False, "uniform random sampling"),
):
    register_sampler(_entry)
