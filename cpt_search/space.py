"""Search spaces: the YAML file that declares a multi-objective schedule search (pure core).

A space file says what to train (``task``, ``budget``, ``seeds``), how much (``trials``,
``concurrency``, ``resources``), how to optimise (``objective``, ``sampler``, ``constraints``) and which
schedules to try (``schedule``: one entry per :class:`~cpt_search.schedule.Schedule` dimension,
each fixed or searched). Validation is strict: unknown keys are errors, bounds are inclusive at both
ends, and every problem is one :class:`~cpt_search.errors.ConfigError` line naming the file (and
line), the dotted key, the value and a fix.

Schedule dimensions (omitted ones are fixed at the CPT default: cosine, repeated, 3-8/8 bits, n=8,
no warm-up)::

    profile, form, flip          a value, a list of choices, or {choices: [...]}
    num_cycles                   an int, choices, or {low, high, log?, step?}
    min_bits                     likewise (1..32 bits)
    bits_span | max_bits         max_bits = min_bits + bits_span (never invalid), or max_bits fixed /
                                 a range wholly above min_bits' range (also never invalid)
    min_grad_bits                likewise; grad_bits_span | max_grad_bits as for the forward bits
    warmup_frac                  a float in [0, 1), choices, or {low, high, log?, step?}
    warmup_bits                  bits of the warm-up (null = max_bits; 32 = full precision)
    exp_rate, rex_beta           constants of the exp and rex profiles

Every sample of a valid space is a valid schedule: the bit bounds are parametrised so that
``min <= max <= 32`` always holds, which is checked here once rather than rejected per trial.

A space holds no Optuna objects: :mod:`cpt_search.search.suggest` turns it into suggestions and
:mod:`cpt_search.search.samplers` into a sampler.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.presets import PRESET_NAMES, baseline_schedules, preset, static
from cpt_search.profiles import PROFILES
from cpt_search.schedule import FLIPS, FORMS, FULL_PRECISION_BITS, MIN_BITS, Schedule

logger = logging.getLogger(__name__)

# Relative cost is a property of the schedule over the run's steps; the exact step count is only
# known once a task's data is loaded, so costs before training use this many steps. Rounding of
# period boundaries makes the difference small (REFERENCE §1 quotes <= 0.001 for such changes).
NOMINAL_TOTAL_STEPS = 10_000
SAMPLER_NAMES = ("nsga2", "tpe", "gp", "random")
OBJECTIVE_DIRECTIONS = ("maximize", "minimize")
DEFAULT_BASELINE = {"min_bits": 3, "max_bits": 8, "num_cycles": 8, "grad_bits": 8}  # CPT 3-8/8, n=8
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


# ---------------------------------------------------------------------- dimension specs


@dataclass(frozen=True)
class Fixed:
    """A dimension held at one value."""

    value: Any
    searched = False

    def bounds(self) -> tuple[Any, Any]:
        """Lowest and highest value a sample can take."""
        return self.value, self.value

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a value of this dimension."""
        return value == self.value

    def text(self) -> str:
        """Human-readable form for ``describe()``."""
        return "null" if self.value is None else f"{self.value}"

    def to_yaml(self) -> Any:
        """The spec as it would be written in a space file."""
        return self.value


@dataclass(frozen=True)
class Choices:
    """A categorical dimension (also used for a list of numbers)."""

    values: tuple[Any, ...]
    searched = True

    def bounds(self) -> tuple[Any, Any]:
        numeric = [v for v in self.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numeric) == len(self.values):
            return min(numeric), max(numeric)
        return self.values[0], self.values[-1]

    def contains(self, value: Any) -> bool:
        return value in self.values

    def int_grid(self) -> tuple[int, int, int] | None:
        """``(low, high, step)`` when the choices are evenly spaced integers (at least two).

        Such choices are suggested as an integer range with a step: the sampler then sees an
        ordered dimension, and a baseline can carry a value outside the choices (static 32/32 in a
        ``[6, 8]`` space), which a categorical parameter cannot store.
        """
        if len(self.values) < 2 or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in self.values):
            return None
        ordered = sorted(self.values)
        steps = {b - a for a, b in zip(ordered, ordered[1:])}
        return (ordered[0], ordered[-1], steps.pop()) if len(steps) == 1 else None

    def text(self) -> str:
        return "choice of " + ", ".join("null" if v is None else str(v) for v in self.values)

    def to_yaml(self) -> Any:
        return {"choices": list(self.values)}


@dataclass(frozen=True)
class IntRange:
    """Integers ``low..high`` inclusive, optionally log-uniform or on a ``step`` grid."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    searched = True

    def bounds(self) -> tuple[int, int]:
        return self.low, self.high

    def contains(self, value: Any) -> bool:
        return isinstance(value, numbers.Integral) and self.low <= value <= self.high \
            and (value - self.low) % self.step == 0

    def text(self) -> str:
        extra = (" log" if self.log else "") + (f" step {self.step}" if self.step != 1 else "")
        return f"int {self.low}..{self.high}{extra}"

    def to_yaml(self) -> Any:
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        if self.step != 1:
            spec["step"] = self.step
        return spec


@dataclass(frozen=True)
class FloatRange:
    """Floats in ``[low, high]``, optionally log-uniform or on a ``step`` grid."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    searched = True

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def contains(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and self.low <= value <= self.high

    def text(self) -> str:
        extra = (" log" if self.log else "") + (f" step {self.step:g}" if self.step else "")
        return f"float {self.low:g}..{self.high:g}{extra}"

    def to_yaml(self) -> Any:
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        if self.step:
            spec["step"] = self.step
        return spec


Dim = Fixed | Choices | IntRange | FloatRange


@dataclass(frozen=True)
class _Rule:
    """What one schedule dimension accepts."""

    kind: str  # "name" | "int" | "float"
    default: Any
    names: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    nullable: bool = False
    help: str = ""

    def check(self, value: Any) -> str | None:
        """``None`` if ``value`` is allowed, else the broken rule."""
        if value is None:
            return None if self.nullable else "must not be null"
        if self.kind == "name":
            return None if value in self.names else f"must be one of {', '.join(self.names)}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return "must be a number" if self.kind == "float" else "must be an integer"
        if self.kind == "int" and not isinstance(value, numbers.Integral):
            return "must be an integer"
        return None if self._in_range(value) else f"must be in {self.range_text()}"

    def _in_range(self, value: float) -> bool:
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def range_text(self) -> str:
        high = "" if self.high is None else f"{self.high:g}"
        if self.kind == "float" and self.high_open:
            return f"[{self.low:g}, {high})"
        return f"{self.low:g}..{high}" if self.high is not None else f">= {self.low:g}"


def _bits(default: Any, help: str, nullable: bool = False) -> _Rule:
    return _Rule("int", default, low=MIN_BITS, high=FULL_PRECISION_BITS, nullable=nullable, help=help)


# Suggestion order matters for define-by-run (conditions refer to earlier values).
RULES: dict[str, _Rule] = {
    "profile": _Rule("name", "cosine", names=tuple(PROFILES.names()), help="growth profile"),
    "form": _Rule("name", "repeated", names=FORMS, help="repeated (saw-tooth) or triangular"),
    "flip": _Rule("name", "vertical", names=FLIPS,
                  help="triangle reflection (only matters for triangular exp/rex)"),
    "num_cycles": _Rule("int", 8, low=1, high=100_000, help="periods n"),
    "min_bits": _bits(3, "lower forward bits"),
    "bits_span": _Rule("int", None, low=0, high=FULL_PRECISION_BITS - MIN_BITS,
                       help="max_bits - min_bits"),
    "max_bits": _bits(8, "upper forward bits"),
    "min_grad_bits": _bits(8, "lower gradient bits"),
    "grad_bits_span": _Rule("int", None, low=0, high=FULL_PRECISION_BITS - MIN_BITS,
                            help="max_grad_bits - min_grad_bits"),
    "max_grad_bits": _bits(None, "upper gradient bits (default: min_grad_bits)"),
    "warmup_frac": _Rule("float", 0.0, low=0.0, high=1.0, high_open=True,
                         help="fraction of training at warmup_bits first"),
    "warmup_bits": _bits(None, "warm-up bits (null = max_bits, 32 = FP32)", nullable=True),
    "exp_rate": _Rule("float", 4.0, low=1e-6, high=1e6, help="exp profile rate"),
    "rex_beta": _Rule("float", 0.9, low=0.0, high=1.0, high_open=True, help="rex profile beta"),
}
# Which pairs are alternatives (span or upper bound); at most one of each may be given.
_PAIRS = (("bits_span", "max_bits"), ("grad_bits_span", "max_grad_bits"))


@dataclass(frozen=True)
class ScheduleSpace:
    """The schedule dimensions of a space, one :data:`Dim` per name in :data:`RULES`.

    Exactly one of ``bits_span``/``max_bits`` (and of ``grad_bits_span``/``max_grad_bits``) is not
    ``None``.
    """

    dims: Mapping[str, Dim | None]

    def __getitem__(self, name: str) -> Dim | None:
        return self.dims[name]

    def searched(self) -> dict[str, Dim]:
        """The searched dimensions, in suggestion order."""
        return {name: dim for name, dim in self.items() if dim.searched}

    def items(self) -> Iterator[tuple[str, Dim]]:
        """``(name, dim)`` for every dimension in use, in suggestion order."""
        for name in RULES:
            dim = self.dims.get(name)
            if dim is not None:
                yield name, dim

    def bits_range(self, prefix: str = "") -> tuple[int, int]:
        """Lowest lower bound and highest upper bound of the forward (or ``"grad_"``) bits."""
        low_dim = self.dims[f"min_{prefix}bits"]
        span = self.dims[f"{prefix}bits_span"]
        lowest, highest_min = low_dim.bounds()
        if span is not None:
            return lowest, highest_min + span.bounds()[1]
        return lowest, self.dims[f"max_{prefix}bits"].bounds()[1]

    def to_yaml(self) -> dict[str, Any]:
        """Every dimension in use, as space-file specs."""
        return {name: dim.to_yaml() for name, dim in self.items()}


# ---------------------------------------------------------------------- file sections (pydantic)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Resources(_Section):
    """Per-trial resources Ray reserves (fractional GPUs allowed)."""

    cpus: float = Field(1.0, gt=0)
    gpus: float = Field(0.0, ge=0)


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
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class Constraints(_Section):
    """Constraints every trained schedule must meet (known before training)."""

    max_relative_cost: float | None = Field(None, gt=0, le=1)


class BaselineBits(_Section):
    """Bounds and cycles of the enqueued paper presets (defaults: the space's fixed values, else
    CPT's 3-8/8 with n = 8)."""

    min_bits: int | None = Field(None, ge=MIN_BITS, le=FULL_PRECISION_BITS)
    max_bits: int | None = Field(None, ge=MIN_BITS, le=FULL_PRECISION_BITS)
    num_cycles: int | None = Field(None, ge=1)
    grad_bits: int | None = Field(None, ge=MIN_BITS, le=FULL_PRECISION_BITS)


class _SpaceFile(_Section):
    """The top level of a space file."""

    name: str | None = None
    task: str
    budget: str = "default"
    seeds: int | list[int] = Field(default_factory=lambda: [0])
    trials: int = Field(ge=1)
    concurrency: int = Field(1, ge=1)
    resources: Resources = Field(default_factory=Resources)
    objective: Objective = Field(default_factory=Objective)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    schedule: dict[str, Any] = Field(default_factory=dict)
    constraints: Constraints = Field(default_factory=Constraints)
    include_baselines: bool = False
    baselines: BaselineBits = Field(default_factory=BaselineBits)


# ---------------------------------------------------------------------- the space


@dataclass(frozen=True)
class SearchSpace:
    """A validated, fully resolved search space.

    Attributes:
        name: the search's name (default: the file stem); names the Optuna study and MLflow run.
        task, budget: what each trial trains (``cpt_search.tasks``).
        seeds: seeds each trial's schedule is trained with.
        num_trials: trials the sampler proposes; baselines come on top (:attr:`total_trials`).
        concurrency: trials running at once.
        resources: CPUs and GPUs reserved per trial.
        objective: the metric's name and direction (BitOPs are minimised).
        sampler: the Optuna sampler's name, seed and options.
        constraints: ``max_relative_cost`` (vs FP32) or ``None``.
        include_baselines: enqueue the paper presets and static baselines first.
        baseline: bounds of the enqueued presets: ``min_bits, max_bits, num_cycles, grad_bits``.
        schedule: the schedule dimensions.
        source: the file the space came from (for messages).
        cost_steps: steps used for costs known before training (:data:`NOMINAL_TOTAL_STEPS`).
    """

    name: str
    task: str
    budget: str
    seeds: tuple[int, ...]
    num_trials: int
    concurrency: int
    resources: Resources
    objective: Objective
    sampler: SamplerSpec
    constraints: Constraints
    include_baselines: bool
    baseline: Mapping[str, int]
    schedule: ScheduleSpace
    source: str = "<string>"
    cost_steps: int = NOMINAL_TOTAL_STEPS

    @property
    def direction(self) -> str:
        """The metric's direction (``"maximize"`` or ``"minimize"``)."""
        return self.objective.direction or "maximize"

    @property
    def directions(self) -> tuple[str, str]:
        """Optuna directions of ``(metric, bitops)``."""
        return self.direction, "minimize"

    @property
    def total_trials(self) -> int:
        """``num_trials`` plus the enqueued baselines."""
        return self.num_trials + (len(self.baseline_schedules()) if self.include_baselines else 0)

    def baseline_schedules(self) -> list[tuple[str, Schedule]]:
        """The comparison suite: the ten paper presets at :attr:`baseline` bounds, then static
        ``max_bits/grad_bits``, static 8/8 (if different) and FP32; labels and schedules unique."""
        b = self.baseline
        suite = [(name, preset(name, min_bits=b["min_bits"], max_bits=b["max_bits"],
                               num_cycles=b["num_cycles"], min_grad_bits=b["grad_bits"]))
                 for name in PRESET_NAMES]
        suite += [(s.label, s) for s in baseline_schedules(b["max_bits"], b["grad_bits"])]
        # A preset with equal bounds is a static schedule whatever its shape: name it as one.
        suite = [(s.label, static(s.max_bits, s.max_grad_bits)) if s.is_static else (label, s)
                 for label, s in suite]
        unique: list[tuple[str, Schedule]] = []
        for label, schedule in suite:
            if all(schedule != other for _, other in unique):
                unique.append((label, schedule))
        return unique

    def resolved(self) -> dict[str, Any]:
        """The fully resolved space as plain data in the file schema (``parse_space`` of it gives
        the same space back); logged to MLflow as YAML."""
        return {
            "name": self.name,
            "task": self.task,
            "budget": self.budget,
            "seeds": list(self.seeds),
            "trials": self.num_trials,
            "concurrency": self.concurrency,
            "resources": self.resources.model_dump(),
            "objective": self.objective.model_dump(),
            "sampler": self.sampler.model_dump(),
            "schedule": self.schedule.to_yaml(),
            "constraints": self.constraints.model_dump(),
            "include_baselines": self.include_baselines,
            "baselines": dict(self.baseline),
        }

    def to_yaml(self) -> str:
        """:meth:`resolved` as YAML text."""
        return yaml.safe_dump(self.resolved(), sort_keys=False)

    def describe(self) -> str:
        """The resolved space, human readable (``cpt-search validate``)."""
        metric = self.objective.metric or "metric"
        lines = [
            f"search space {self.name!r} ({self.source})",
            f"  task       {self.task}, budget {self.budget}, seeds {list(self.seeds)}",
            f"  objectives {metric} ({self.direction}), training BitOPs (minimize)",
            f"  trials     {self.num_trials} sampled"
            + (f" + {len(self.baseline_schedules())} baselines" if self.include_baselines else "")
            + f", {self.concurrency} at once, {self.resources.cpus:g} CPU"
              f" + {self.resources.gpus:g} GPU per trial",
            f"  sampler    {self.sampler.name}, seed {self.sampler.seed}"
            + (f", options {self.sampler.options}" if self.sampler.options else ""),
        ]
        if self.constraints.max_relative_cost is not None:
            lines.append(f"  constraint relative cost <= {self.constraints.max_relative_cost:g} of FP32"
                         " (infeasible schedules are not trained)")
        searched = self.schedule.searched()
        lines.append("  searched:" if searched else "  searched:   nothing (every dimension fixed)")
        for name, dim in searched.items():
            note = _CONDITIONS.get(name, "")
            lines.append(f"    {name:<15} {dim.text()}{note}")
        lines.append("  fixed:")
        for name, dim in self.schedule.items():
            if not dim.searched:
                lines.append(f"    {name:<15} {dim.text()}")
        low, high = self.schedule.bits_range()
        glow, ghigh = self.schedule.bits_range("grad_")
        lines.append(f"  bits       forward {low}..{high}, gradient {glow}..{ghigh}")
        if self.include_baselines:
            labels = ", ".join(label for label, _ in self.baseline_schedules())
            lines.append(f"  baselines  {labels}")
        return "\n".join(lines)


_CONDITIONS = {
    "flip": "  (only for triangular exp/rex)",
    "warmup_bits": "  (only when warmup_frac > 0)",
    "exp_rate": "  (only for profile exp)",
    "rex_beta": "  (only for profile rex)",
}


# ---------------------------------------------------------------------- loading


def load_space(path: str | os.PathLike) -> SearchSpace:
    """Read and validate a space file.

    Raises:
        ConfigError: one line naming the file (and line), the dotted key, the value and a fix, for
            any problem: unreadable file, YAML syntax, duplicate or unknown keys, wrong types,
            out-of-range values, ``low > high``, unknown task, budget, sampler or profile.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("search space file not found", where=where,
                          fix="pass the path of a YAML file, e.g. search_spaces/quickstart.yaml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the search space file ({error.__class__.__name__})",
                          where=where, fix="pass a readable UTF-8 YAML file") from None
    data, lines = _parse_yaml(text, where)
    return parse_space(data, where=where, default_name=path.stem, _lines=lines)


def parse_space(mapping: Any, where: str = "<string>", *, default_name: str | None = None,
                _lines: Mapping[tuple[str, ...], int] | None = None) -> SearchSpace:
    """Validate a space given as a mapping (what :func:`load_space` reads from YAML).

    Args:
        mapping: the space's top-level mapping.
        where: names the source in error messages.
        default_name: the search name when the mapping has none (``load_space`` passes the stem).
    """
    ctx = _Context(where, _lines or {})
    if not isinstance(mapping, Mapping):
        raise ConfigError("a search space must be a mapping of keys", where=where,
                          value=_short(mapping), fix="start the file with keys such as 'task:' and 'trials:'")
    try:
        file = _SpaceFile.model_validate(dict(mapping))
    except ValidationError as error:
        raise ctx.from_pydantic(error, mapping) from None

    name = file.name if file.name is not None else (default_name or "search")
    if not _NAME_RE.match(name):
        raise ctx.error("the name may use letters, digits, '_', '.', '-' (it names files and studies)",
                        ("name",), name, "rename the search (or the file), e.g. 'cora_quick'")
    seeds = (file.seeds,) if isinstance(file.seeds, int) else tuple(file.seeds)
    _check_seeds(ctx, seeds)
    if file.sampler.name not in SAMPLER_NAMES:
        raise ctx.error("unknown sampler", ("sampler", "name"), file.sampler.name,
                        _suggest_fix(file.sampler.name, SAMPLER_NAMES))
    schedule = _parse_schedule(ctx, file.schedule)
    task_info = _resolve_task(ctx, file.task, file.budget)
    objective = _resolve_objective(ctx, file.objective, task_info)
    baseline = _resolve_baseline(ctx, file.baselines, schedule)
    space = SearchSpace(
        name=name, task=file.task, budget=file.budget, seeds=seeds, num_trials=file.trials,
        concurrency=file.concurrency, resources=file.resources, objective=objective,
        sampler=file.sampler, constraints=file.constraints,
        include_baselines=file.include_baselines, baseline=baseline, schedule=schedule,
        source=where, cost_steps=_known_total_steps(task_info, file.budget) or NOMINAL_TOTAL_STEPS,
    )
    _check_cycles_fit(ctx, space)
    return space


# ---------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Context:
    """Where errors point: the source name and a map of dotted key paths to YAML line numbers."""

    where: str
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    def place(self, path: Sequence[str]) -> str:
        path = tuple(str(p) for p in path)
        while path:
            if path in self.lines:
                return f"{self.where}:{self.lines[path]}"
            path = path[:-1]
        return self.where

    def error(self, message: str, path: Sequence[Any], value: Any = CptSearchError._MISSING,
              fix: str | None = None) -> ConfigError:
        return ConfigError(message, where=self.place(path), key=".".join(str(p) for p in path),
                           value=value, fix=fix)

    def from_pydantic(self, error: ValidationError, mapping: Mapping[str, Any]) -> ConfigError:
        first = error.errors(include_url=False)[0]
        loc = _clean_loc(first["loc"])
        kind = first["type"]
        if kind == "extra_forbidden":
            known = _known_keys(loc[:-1])
            return self.error("unknown key", loc, first["input"],
                              _suggest_fix(str(loc[-1]), known, what="key"))
        if kind == "missing":
            return self.error("required key is missing", loc, fix=f"add '{loc[-1]}:' to the space")
        message = "must be a mapping of keys" if kind == "model_type" else first["msg"]
        ctx_error = (first.get("ctx") or {}).get("error")
        if ctx_error is not None:
            message = str(ctx_error)
        return self.error(message[0].lower() + message[1:], loc, first.get("input"),
                          _TYPE_FIXES.get(kind, "see the schema in the docstring of cpt_search.space"))


_TYPE_FIXES = {
    "int_type": "use a whole number", "int_from_float": "use a whole number",
    "float_type": "use a number", "bool_type": "use true or false",
    "string_type": "use a string (quote it if needed)", "dict_type": "use a mapping of keys",
    "model_type": "use a mapping, e.g. 'key: value' lines indented under it",
    "list_type": "use a list", "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value", "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value", "value_error": "use an allowed value",
}


def _clean_loc(loc: Sequence[Any]) -> tuple[str, ...]:
    # pydantic adds union-branch names ("int", "list[int]") to locations; keep the keys only.
    cleaned = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in ("int", "str")))]
    return tuple(cleaned) or ("<root>",)


def _known_keys(parent: Sequence[str]) -> list[str]:
    model: type[BaseModel] = _SpaceFile
    for part in parent:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _suggest_fix(value: str, known: Sequence[str], what: str = "name") -> str:
    close = difflib.get_close_matches(str(value), list(known), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}known {what}s: {', '.join(known)}"


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def _parse_yaml(text: str, where: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Load YAML safely; return the data and a map of key paths to 1-based line numbers."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = f"{where}:{mark.line + 1}" if mark is not None else where
        problem = " ".join(str(error.problem or error).split())
        raise ConfigError(f"YAML syntax error: {problem}", where=place,
                          fix="fix the YAML (indentation, colons, quotes) at that line") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML error: {error}", where=where, fix="fix the YAML") from None
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _walk(node, (), lines, where)
    return data, lines


def _walk(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int], where: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:  # PyYAML silently keeps the last one; a search space must not
                raise ConfigError("duplicate key", where=f"{where}:{key_node.start_mark.line + 1}",
                                  key=".".join(path + (key,)), fix="keep one of the two entries")
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (str(index),)] = item.start_mark.line + 1
            _walk(item, path + (str(index),), lines, where)


def _check_seeds(ctx: _Context, seeds: tuple[int, ...]) -> None:
    if not seeds:
        raise ctx.error("at least one seed is needed", ("seeds",), [], "use e.g. 'seeds: [0]'")
    for index, seed in enumerate(seeds):
        if seed < 0:
            raise ctx.error("seeds must be >= 0", ("seeds", index), seed, "use non-negative seeds")
    if len(set(seeds)) != len(seeds):
        raise ctx.error("seeds must be unique", ("seeds",), list(seeds), "remove the repeated seed")


def _parse_schedule(ctx: _Context, raw: Mapping[str, Any]) -> ScheduleSpace:
    dims: dict[str, Dim | None] = {}
    for key in raw:
        if key not in RULES:
            raise ctx.error("unknown schedule dimension", ("schedule", key), fix=_suggest_fix(
                str(key), list(RULES), what="dimension"))
    for first, second in _PAIRS:
        if first in raw and second in raw:
            raise ctx.error(f"give {first} or {second}, not both", ("schedule", second),
                            raw[second], f"remove '{second}' (max = min + span) or '{first}'")
    for name, rule in RULES.items():
        if name in raw:
            dims[name] = _parse_dim(ctx, name, rule, raw[name])
        elif rule.default is not None or rule.nullable:
            dims[name] = Fixed(rule.default)
        else:
            dims[name] = None
    # Defaults of the pairs: max_bits 8 unless a span is given; gradient bits constant (span 0).
    if dims["bits_span"] is not None:
        dims["max_bits"] = None
    if dims["grad_bits_span"] is None and dims["max_grad_bits"] is None:
        dims["grad_bits_span"] = Fixed(0)
    space = ScheduleSpace(dims)
    _check_bounds(ctx, space, "")
    _check_bounds(ctx, space, "grad_")
    return space


def _parse_dim(ctx: _Context, name: str, rule: _Rule, spec: Any) -> Dim:
    path = ("schedule", name)
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, Mapping):
        problem = rule.check(spec)
        if problem:
            raise ctx.error(f"{name} {problem}", path, spec, _rule_fix(rule))
        return Fixed(_normalise(rule, spec))
    keys = set(spec)
    if "choices" in keys:
        if keys != {"choices"}:
            extra = sorted(keys - {"choices"})[0]
            raise ctx.error("choices take no other keys", path + (extra,), spec[extra],
                            "use either {choices: [...]} or {low, high, log, step}")
        return _parse_choices(ctx, name, rule, spec["choices"])
    if rule.kind == "name":
        raise ctx.error(f"{name} is categorical: give a value or a list of choices", path,
                        _short(dict(spec)), f"use e.g. '{name}: [{', '.join(rule.names)}]'")
    allowed = {"low", "high", "log", "step"}
    for key in spec:
        if key not in allowed:
            raise ctx.error("unknown key of a range", path + (str(key),), spec[key],
                            _suggest_fix(str(key), sorted(allowed | {"choices"}), what="key"))
    for key in ("low", "high"):
        if key not in spec:
            raise ctx.error("a range needs both low and high", path, _short(dict(spec)),
                            f"add '{key}:' (bounds are inclusive)")
        problem = rule.check(spec[key])
        if problem:
            raise ctx.error(f"{name} {problem}", path + (key,), spec[key], _rule_fix(rule))
    low, high = _normalise(rule, spec["low"]), _normalise(rule, spec["high"])
    if low > high:
        raise ctx.error(f"low <= high must hold, but got (low={low}, high={high})", path + ("low",),
                        low, "swap the bounds (both are inclusive)")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ctx.error("log must be true or false", path + ("log",), log, "use true or false")
    if log and low <= 0:
        raise ctx.error("a log range needs low > 0", path + ("low",), low,
                        "raise low or drop 'log: true'")
    step = spec.get("step")
    if step is not None:
        integral = rule.kind == "int"
        if isinstance(step, bool) or not isinstance(step, numbers.Real) or step <= 0 or (
                integral and not isinstance(step, numbers.Integral)):
            raise ctx.error("step must be a positive " + ("integer" if integral else "number"),
                            path + ("step",), step, "use e.g. step: 1" if integral else "use e.g. 0.05")
        if log:
            raise ctx.error("log and step cannot be combined", path + ("step",), step,
                            "drop one of them (Optuna does not support both)")
    if rule.kind == "int":
        step = int(step or 1)
        if (high - low) % step:
            raise ctx.error(f"high - low must be a multiple of step, but got (low={low}, "
                            f"high={high}, step={step})", path + ("step",), step,
                            "change step or the bounds so that high is on the grid")
        return IntRange(int(low), int(high), log=log, step=step)
    return FloatRange(float(low), float(high), log=log, step=None if step is None else float(step))


def _parse_choices(ctx: _Context, name: str, rule: _Rule, choices: Any) -> Choices:
    path = ("schedule", name, "choices")
    if not isinstance(choices, list) or not choices:
        raise ctx.error("choices must be a non-empty list", path, _short(choices),
                        f"use e.g. '{name}: [{_example(rule)}]'")
    values = []
    for index, value in enumerate(choices):
        problem = rule.check(value)
        if problem:
            raise ctx.error(f"{name} {problem}", path + (index,), value, _rule_fix(rule))
        value = _normalise(rule, value)
        if value in values:
            raise ctx.error("choices must be unique", path + (index,), value, "remove the repeat")
        values.append(value)
    return Choices(tuple(values))


def _normalise(rule: _Rule, value: Any) -> Any:
    if value is None or rule.kind == "name":
        return value
    return int(value) if rule.kind == "int" else float(value)


def _rule_fix(rule: _Rule) -> str:
    if rule.kind == "name":
        return _suggest_fix("", rule.names, what="value").replace("known values", "use one of")
    null = " or null" if rule.nullable else ""
    return f"use {'an integer' if rule.kind == 'int' else 'a number'} in {rule.range_text()}{null}"


def _example(rule: _Rule) -> str:
    return ", ".join(rule.names) if rule.kind == "name" else f"{rule.default}"


def _check_bounds(ctx: _Context, space: ScheduleSpace, prefix: str) -> None:
    """Every sample must satisfy ``min <= max <= 32``: check the extremes once."""
    low_name, span_name, high_name = f"min_{prefix}bits", f"{prefix}bits_span", f"max_{prefix}bits"
    lowest_min, highest_min = space[low_name].bounds()
    if space[span_name] is not None:
        highest = highest_min + space[span_name].bounds()[1]
        if highest > FULL_PRECISION_BITS:
            raise ctx.error(f"{low_name} + {span_name} can exceed {FULL_PRECISION_BITS} bits "
                            f"(up to {highest})", ("schedule", span_name), space[span_name].to_yaml(),
                            f"lower the highest {span_name} to {FULL_PRECISION_BITS - highest_min}")
        return
    lowest_max = space[high_name].bounds()[0]
    if highest_min > lowest_max:
        raise ctx.error(f"every {low_name} must be <= every {high_name}, but {low_name} reaches "
                        f"{highest_min} and {high_name} starts at {lowest_max}",
                        ("schedule", high_name), space[high_name].to_yaml(),
                        f"search {span_name} instead (max = min + span), or separate the ranges")


def _resolve_task(ctx: _Context, task_name: str, budget: str) -> Any:
    """The registered task (validating the name and budget), or ``None`` without a task registry."""
    try:
        from cpt_search.tasks import TASKS  # heavy (imports torch): only when a space is parsed
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("cpt_search.tasks"):
            logger.warning("cpt_search.tasks is not available: task %r not checked", task_name)
            return None
        raise
    try:
        task = TASKS.get(task_name)
    except CptSearchError as error:
        raise ctx.error("unknown task", ("task",), task_name, error.fix) from None
    budgets = list(getattr(task, "budgets", {}) or {})
    if budgets and budget not in budgets:
        raise ctx.error(f"unknown budget of task {task_name}", ("budget",), budget,
                        _suggest_fix(budget, budgets, what="budget"))
    return task


def _known_total_steps(task: Any, budget: str) -> int | None:
    """The task's exact optimizer steps for ``budget`` when it can tell without loading data."""
    total_steps = getattr(task, "total_steps", None)
    if not callable(total_steps):
        return None
    try:
        steps = total_steps(budget)
    except Exception:  # noqa: BLE001 - a task that cannot tell up front falls back to nominal steps
        logger.debug("task %s cannot tell its total steps up front", task, exc_info=True)
        return None
    return int(steps) if isinstance(steps, numbers.Integral) and steps > 0 else None


def _resolve_objective(ctx: _Context, objective: Objective, task: Any) -> Objective:
    if task is None:
        return objective
    metric_name = getattr(task, "metric_name", None)
    if objective.metric is not None and metric_name is not None and objective.metric != metric_name:
        raise ctx.error(f"task {task.name} reports the metric {metric_name!r}",
                        ("objective", "metric"), objective.metric,
                        f"use 'metric: {metric_name}' or leave it out")
    task_direction = "maximize" if getattr(task, "higher_is_better", True) else "minimize"
    if objective.direction is not None and objective.direction != task_direction:
        raise ctx.error(f"{metric_name} of task {task.name} is better when "
                        f"{'higher' if task_direction == 'maximize' else 'lower'}",
                        ("objective", "direction"), objective.direction,
                        f"use 'direction: {task_direction}' or leave it out")
    return Objective(metric=objective.metric or metric_name, direction=task_direction)


def _resolve_baseline(ctx: _Context, given: BaselineBits, schedule: ScheduleSpace) -> dict[str, int]:
    def fixed(name: str) -> Any:
        dim = schedule[name]
        return dim.value if isinstance(dim, Fixed) else None

    derived = dict(DEFAULT_BASELINE)
    for key, dim_name in (("min_bits", "min_bits"), ("num_cycles", "num_cycles"),
                          ("grad_bits", "min_grad_bits")):
        if fixed(dim_name) is not None:
            derived[key] = fixed(dim_name)
    if fixed("max_bits") is not None:
        derived["max_bits"] = fixed("max_bits")
    elif fixed("bits_span") is not None and fixed("min_bits") is not None:
        derived["max_bits"] = fixed("min_bits") + fixed("bits_span")
    baseline = {key: (getattr(given, key) if getattr(given, key) is not None else derived[key])
                for key in DEFAULT_BASELINE}
    if baseline["min_bits"] > baseline["max_bits"]:
        # Derived defaults give way to what the file says (e.g. a space fixed at max_bits 2).
        if given.min_bits is None:
            baseline["min_bits"] = baseline["max_bits"]
        elif given.max_bits is None:
            baseline["max_bits"] = baseline["min_bits"]
    if baseline["min_bits"] > baseline["max_bits"]:
        raise ctx.error(f"min_bits <= max_bits must hold, but got (min_bits={baseline['min_bits']}, "
                        f"max_bits={baseline['max_bits']})", ("baselines", "min_bits"),
                        baseline["min_bits"], "set baselines.min_bits and baselines.max_bits")
    return baseline


def _check_cycles_fit(ctx: _Context, space: SearchSpace) -> None:
    """Each period needs at least one step: ``num_cycles <= steps after the longest warm-up``."""
    warmup_high = space.schedule["warmup_frac"].bounds()[1]
    cycles_high = space.schedule["num_cycles"].bounds()[1]
    steps_after = space.cost_steps - round(warmup_high * space.cost_steps)
    if cycles_high > steps_after:
        raise ctx.error(f"num_cycles up to {cycles_high} leaves periods without steps "
                        f"({steps_after} steps after the warm-up)", ("schedule", "num_cycles"),
                        space.schedule["num_cycles"].to_yaml(), "lower num_cycles or warmup_frac")


def schedule_space_names() -> list[str]:
    """Names of the schedule dimensions a space file may set."""
    return list(RULES)


__all__ = [
    "Choices", "Constraints", "Dim", "Fixed", "FloatRange", "IntRange", "NOMINAL_TOTAL_STEPS",
    "Objective", "RULES", "Resources", "SAMPLER_NAMES", "SamplerSpec", "ScheduleSpace",
    "SearchSpace", "load_space", "parse_space", "schedule_space_names",
]
