"""The sections of a space file as strict pydantic models (unknown keys and wrong types are errors).

Numbers are bounded by :mod:`cpt_search.limits` (seeds below 2**32, at most 100,000 trials, 4,096
at once, finite CPUs and GPUs), and nan or inf is refused everywhere.

:class:`_SpaceFile` is the file's top level; its sections are :class:`Resources`, :class:`Objective`,
:class:`SamplerSpec`, :class:`Constraints`, :class:`BaselineBits`, :class:`Confirm` and
:class:`Scheduler`. The ``schedule``
section is a plain mapping here: :mod:`cpt_search.space.schedule_parsing` validates it dimension by dimension.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cpt_search.bits import FULL_PRECISION_BITS, MIN_BITS
from cpt_search.limits import (
    MAX_CONCURRENCY,
    MAX_CPUS_PER_TRIAL,
    MAX_GPUS_PER_TRIAL,
    MAX_SEED,
    MAX_SEEDS,
    MAX_TRIALS,
)

OBJECTIVE_DIRECTIONS = ("maximize", "minimize")
# Confirmation defaults: four fresh seeds (three are the least a paired t-test of the race decides on,
# docs/confirmation.md) and 24 extra trainings, about two thirds of the quickstart's 36.
DEFAULT_CONFIRM_SEEDS = 4
DEFAULT_CONFIRM_TRAININGS = 24
DEFAULT_BASELINE = {"min_bits": 3, "max_bits": 8, "num_cycles": 8, "grad_bits": 8}  # CPT 3-8/8, n=8
# numpy and Optuna take 32-bit seeds; a larger one would fail deep inside them (cpt_search.limits).
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class _Section(BaseModel):
    # allow_inf_nan=False: .inf CPUs or a nan constraint is a typo, not a value.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Resources(_Section):
    """Per-trial resources Ray reserves (fractional GPUs allowed)."""

    cpus: float = Field(default=1.0, gt=0, le=MAX_CPUS_PER_TRIAL)
    gpus: float = Field(default=0.0, ge=0, le=MAX_GPUS_PER_TRIAL)


class Objective(_Section):
    """The task metric's name and direction (BitOPs are always minimised)."""

    metric: str | None = None
    direction: str | None = None

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str | None) -> str | None:
        if value is not None and value not in OBJECTIVE_DIRECTIONS:
            raise ValueError("direction must be maximize or minimize")
        return value


class SamplerSpec(_Section):
    """The Optuna sampler: its name, seed and constructor options."""

    name: str = "nsga2"
    seed: Seed | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class Constraints(_Section):
    """Constraints every trained schedule must meet (known before training)."""

    max_relative_cost: float | None = Field(default=None, gt=0, le=1)


class BaselineBits(_Section):
    """Bounds and cycles of the enqueued paper presets (defaults: the space's fixed values, else
    CPT's 3-8/8 with n = 8)."""

    min_bits: int | None = Field(default=None, ge=MIN_BITS, le=FULL_PRECISION_BITS)
    max_bits: int | None = Field(default=None, ge=MIN_BITS, le=FULL_PRECISION_BITS)
    num_cycles: int | None = Field(default=None, ge=1)
    grad_bits: int | None = Field(default=None, ge=MIN_BITS, le=FULL_PRECISION_BITS)


class Confirm(_Section):
    """Seed confirmation of the front after the search (:mod:`cpt_search.confirm`, docs/confirmation.md).

    ``seeds`` default to the :data:`DEFAULT_CONFIRM_SEEDS` seeds after the search's largest, so they
    never repeat a search seed; ``max_trainings`` bounds the extra trainings; the rest are the race's
    knobs (:class:`cpt_search.confirm.ConfirmSettings` documents them).
    """

    seeds: list[Seed] | None = None
    max_trainings: int = Field(default=DEFAULT_CONFIRM_TRAININGS, ge=0, le=MAX_TRIALS)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    min_seeds: int = Field(default=3, ge=2, le=MAX_SEEDS)
    plausible_stds: float = Field(default=2.0, ge=0, le=100)
    noise_std: float | None = Field(default=None, gt=0)
    bootstrap_samples: int = Field(default=1000, ge=1, le=100_000)


MAX_CODE_FOLDERS = 64  # a space lists a few source folders, not a tree of them


class Scheduler(_Section):
    """Early stopping of trials: a :data:`cpt_search.stopping.STOPPING_RULES` name and that rule's
    options as further keys (``{name: staircase, rungs: [0.25, 0.5]}``), checked by
    :mod:`cpt_search.space.loading` against the rule's own options model."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)

    name: str = "fifo"


class _SpaceFile(_Section):
    """The top level of a space file."""

    name: str | None = None
    task: str
    # A task's budget name; a training function also takes a mapping of knobs (space.loading checks it).
    budget: str | dict[str, Any] = "default"
    seeds: int | list[int] = Field(default_factory=lambda: [0])
    trials: int = Field(ge=1, le=MAX_TRIALS)
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    resources: Resources = Field(default_factory=Resources)
    objective: Objective = Field(default_factory=Objective)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    schedule: dict[str, Any] = Field(default_factory=dict)
    constraints: Constraints = Field(default_factory=Constraints)
    include_baselines: bool = False
    baselines: BaselineBits = Field(default_factory=BaselineBits)
    confirm: Confirm | None = None
    scheduler: Scheduler = Field(default_factory=Scheduler)
    # Extra folders of the user's code, relative to the space file: put on the import path of the
    # driver and shipped to every Ray worker beside the space file's own folder.
    code: list[str] = Field(default_factory=list, max_length=MAX_CODE_FOLDERS)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: int | list[int]) -> int | list[int]:
        # A validator rather than constrained union members: pydantic would report the int branch's
        # "should be a valid integer" for a list with one bad seed.
        seeds = [value] if isinstance(value, int) else value
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds are allowed, got {len(seeds)}")
        for seed in seeds:  # negative seeds are reported with their index by space.loading
            if seed > MAX_SEED:
                raise ValueError(f"seeds <= {MAX_SEED} must hold (numpy and Optuna take 32-bit seeds), "
                                 f"but got {seed}")
        return value


__all__ = ["BaselineBits", "Confirm", "Constraints", "DEFAULT_BASELINE", "DEFAULT_CONFIRM_SEEDS",
           "OBJECTIVE_DIRECTIONS", "Objective",
           "Resources", "SamplerSpec", "Scheduler"]
