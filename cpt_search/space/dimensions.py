"""Schedule dimensions of a search space: how each one is specified and what it accepts.

A dimension is :class:`Fixed` (one value), :class:`Choices` (a list of values), :class:`IntRange`
or :class:`FloatRange` (inclusive bounds, optionally log-uniform or on a step grid). :data:`RULES`
says what each :class:`~cpt_search.schedule.Schedule` dimension accepts (in suggestion order), and
:class:`ScheduleSpace` holds one :data:`Dim` per rule. The file syntax is in the docstring of
:mod:`cpt_search.space`; :mod:`cpt_search.space.schedule_parsing` turns it into these objects.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from cpt_search.bits import FULL_PRECISION_BITS, MIN_BITS
from cpt_search.profiles import PROFILES
from cpt_search.schedule import FLIPS, FORMS


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
        return isinstance(value, numbers.Integral) and self.low <= int(value) <= self.high \
            and (int(value) - self.low) % self.step == 0

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
        return isinstance(value, numbers.Real) and self.low <= float(value) <= self.high

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
        return None if self._in_range(float(value)) else f"must be in {self.range_text()}"

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


# Suggestion order matters for define-by-run (conditions refer to earlier values). The profile
# names and shape constants come from the profile registry (:func:`rules`).
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
    "cooldown_frac": _Rule("float", 0.0, low=0.0, high=1.0, high_open=True,
                           help="fraction of training at cooldown_bits last"),
    "cooldown_bits": _bits(None, "cool-down bits (null = max_bits, 32 = FP32)", nullable=True),
}


def rules() -> dict[str, _Rule]:
    """Every schedule dimension's rule, in suggestion order: the fixed ones, then the shape
    constants of every registered profile (asked only for their profile), so a profile registered
    at run time is a dimension like the built-in ones."""

    table = dict(RULES)
    table["profile"] = _Rule("name", "cosine", names=tuple(PROFILES.names()), help="growth profile")
    for name in PROFILES:
        for key, spec in PROFILES.get(name).params.items():
            table[key] = _Rule("float", spec.default, low=spec.low, high=spec.high,
                               high_open=spec.high_open, help=spec.help or f"{name} profile constant")
    return table
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
        for name in rules():
            dim = self.dims.get(name)
            if dim is not None:
                yield name, dim

    def bits_range(self, prefix: str = "") -> tuple[int, int]:
        """Lowest lower bound and highest upper bound of the forward (or ``"grad_"``) bits."""
        low_dim = self.dims.get(f"min_{prefix}bits")
        span = self.dims.get(f"{prefix}bits_span")
        top = self.dims.get(f"max_{prefix}bits")
        if low_dim is None or (span is None and top is None):  # resolved spaces always have them
            raise KeyError(f"min_{prefix}bits with {prefix}bits_span or max_{prefix}bits")
        lowest, highest_min = low_dim.bounds()
        if span is not None:
            return int(lowest), int(highest_min + span.bounds()[1])
        assert top is not None
        return int(lowest), int(top.bounds()[1])

    def to_yaml(self) -> dict[str, Any]:
        """Every dimension in use, as space-file specs."""
        return {name: dim.to_yaml() for name, dim in self.items()}


def schedule_space_names() -> list[str]:
    """Names of the schedule dimensions a space file may set."""
    return list(rules())


__all__ = ["Choices", "Dim", "Fixed", "FloatRange", "IntRange", "RULES", "ScheduleSpace", "rules",
           "schedule_space_names"]
