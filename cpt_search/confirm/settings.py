"""What a seed-confirmation race is given: the candidates and the settings of the rule (pure).

A :class:`RaceCandidate` is one schedule of a finished search: its exact training cost (BitOPs, or the
cost as a fraction of FP32 training; any unit, the same for all) and its metric on every seed trained so
far. :class:`ConfirmSettings` holds the confirm seeds, the training budget and the knobs of the rule of
:mod:`cpt_search.confirm.racing`. Both check themselves on construction and raise
:class:`cpt_search.errors.ConfigError` naming the field, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from cpt_search.errors import ConfigError


@dataclass(frozen=True)
class RaceCandidate:
    """One schedule taking part in confirmation.

    Attributes:
        id: a unique name (the Optuna trial number as text, or the schedule label).
        cost: the exact training cost, known before training (lower is better; never noisy).
        values: the metric on each seed trained so far, ``{seed: value}``; the search's own seed(s)
            included. Every value must be finite: record a diverged training as the metric's worst
            value (e.g. accuracy 0) rather than NaN, so it is not asked for again.
    """

    id: str
    cost: float
    values: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"candidate {self.id!r}"
        if not isinstance(self.id, str) or not self.id:
            raise ConfigError("a candidate id must be a non-empty string", where="candidate", key="id",
                              value=self.id, fix="pass e.g. the trial number as text")
        if not math.isfinite(float(self.cost)) or float(self.cost) < 0:
            raise ConfigError("the cost must be finite and >= 0", where=where, key="cost", value=self.cost,
                              fix="pass the schedule's training BitOPs or relative cost")
        if not self.values:
            raise ConfigError("a candidate needs at least one per-seed value", where=where, key="values",
                              value={}, fix="pass the metric of the search's training, e.g. {0: 0.79}")
        for seed, value in self.values.items():
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError("seeds must be integers >= 0", where=where, key="values",
                                  value=seed, fix="key the values by the training seed")
            if not math.isfinite(float(value)):
                raise ConfigError("per-seed values must be finite", where=where, key=f"values[{seed}]",
                                  value=value, fix="record a diverged training as the metric's worst value")
        # A plain dict copy: the caller's mapping may change under us between rounds.
        object.__setattr__(self, "values", {int(s): float(v) for s, v in sorted(self.values.items())})
        object.__setattr__(self, "cost", float(self.cost))


@dataclass(frozen=True)
class ConfirmSettings:
    """The confirm seeds, the budget and the parameters of the race.

    Attributes:
        seeds: the confirm seeds, in the order they are handed out (every racing candidate gets the
            first before anyone gets the second). Keep them apart from the search's seeds.
        max_trainings: the most ``(candidate, confirm seed)`` trainings in all. Every value a candidate
            already holds on a confirm seed counts as spent, so the state rebuilt from stored results
            after a crash spends the same budget, never more.
        alpha: level of each one-sided paired t-test that decides ``off`` and ``on``.
        min_seeds: common seeds two candidates need before a test between them may decide anything
            (F-Race's first test waits the same way). With 3, the one-sided paired t-test at 5 % has
            two degrees of freedom and needs t > 2.92; with 2 it would need t > 6.31.
        plausible_stds: a candidate below the front of the means races only when within this many
            standard deviations of the front at its cost.
        noise_std: seed-to-seed standard deviation of the metric when it is known (e.g. from an earlier
            confirmation); ``None``: estimated, see :func:`cpt_search.confirm.stats.noise_scale`.
        bootstrap_samples: resamples behind each ``p_front`` (bounded work: samples x candidates^2).
        bootstrap_seed: seed of the bootstrap's random numbers (same inputs, same ``p_front``).
    """

    seeds: tuple[int, ...]
    max_trainings: int
    alpha: float = 0.05
    min_seeds: int = 3
    plausible_stds: float = 2.0
    noise_std: float | None = None
    bootstrap_samples: int = 1000
    bootstrap_seed: int = 0

    def __post_init__(self) -> None:
        seeds = tuple(self.seeds)
        object.__setattr__(self, "seeds", seeds)
        if not seeds:
            self._fail("at least one confirm seed is needed", "seeds", list(seeds), "pass e.g. seeds=(1, 2, 3, 4)")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                self._fail("confirm seeds must be integers >= 0", "seeds", list(seeds), "pass e.g. (1, 2, 3, 4)")
        if len(set(seeds)) != len(seeds):
            self._fail("confirm seeds must be unique", "seeds", list(seeds), "remove the repeated seed")
        if isinstance(self.max_trainings, bool) or not isinstance(self.max_trainings, int) \
                or self.max_trainings < 0:
            self._fail("max_trainings must be an integer >= 0", "max_trainings", self.max_trainings,
                       "pass the number of extra trainings you can afford")
        if not 0.0 < self.alpha < 1.0:
            self._fail("alpha must lie in (0, 1)", "alpha", self.alpha, "use e.g. 0.05")
        if isinstance(self.min_seeds, bool) or not isinstance(self.min_seeds, int) or self.min_seeds < 2:
            self._fail("min_seeds must be an integer >= 2 (a paired t-test needs two pairs)", "min_seeds",
                       self.min_seeds, "use e.g. 3")
        if not (math.isfinite(self.plausible_stds) and self.plausible_stds >= 0):
            self._fail("plausible_stds must be finite and >= 0", "plausible_stds", self.plausible_stds,
                       "use e.g. 2.0")
        if self.noise_std is not None and not (math.isfinite(self.noise_std) and self.noise_std > 0):
            self._fail("noise_std must be finite and > 0 when given", "noise_std", self.noise_std,
                       "pass the metric's seed-to-seed std, or None to estimate it")
        if isinstance(self.bootstrap_samples, bool) or not isinstance(self.bootstrap_samples, int) \
                or not 1 <= self.bootstrap_samples <= 100_000:
            self._fail("bootstrap_samples must be an integer in [1, 100000]", "bootstrap_samples",
                       self.bootstrap_samples, "use e.g. 1000")

    @staticmethod
    def _fail(message: str, key: str, value: object, fix: str) -> None:
        raise ConfigError(message, where="confirm settings", key=key, value=value, fix=fix)
