"""Piecewise-constant precision schedules: impairment windows and range-test staircases.

A :class:`PiecewiseSchedule` is a list of contiguous segments covering training as fractions,
each with constant ``(bits, grad_bits)``. It quacks like :class:`cpt_search.schedule.Schedule` where
the trainer looks (``tracks``, ``max_bits``, ``max_grad_bits``, ``to_dict``, ``label``,
``is_static``), so ``run_trial`` trains under it unchanged.

Exact step boundaries over ``S`` training steps: a segment ``[start_frac, end_frac)`` covers the
steps ``round(start_frac * S) .. round(end_frac * S) - 1``, rounding half to even (``numpy.rint``,
as ``Schedule``'s warm-up does). Consecutive segments therefore tile ``0 .. S - 1`` with no gap or
overlap; a segment shorter than half a step at a given ``S`` may cover no step at all.

Two constructors cover the papers' analyses:

- :func:`impairment_window`: low precision in one window, ``base_bits`` elsewhere (critical
  learning periods, Achille et al. 2019, as Better Schedules argue about early quantization);
- :func:`staircase`: ``steps_per_bits`` steps at each precision in turn (CPT's precision range test).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from cpt_search.bits import check_bits
from cpt_search.errors import ConfigError

KIND = "piecewise"
# Fractions within this of 0 or 1 are snapped onto them (float noise such as 1 - 1e-17).
_FRAC_EPS = 1e-9


@dataclass(frozen=True)
class Segment:
    """Constant precision over ``[start_frac, end_frac)`` of training.

    Attributes:
        start_frac, end_frac: the window as fractions of training, ``0 <= start < end <= 1``.
        bits: forward (weight and activation) bits, ``1..32``.
        grad_bits: gradient (error) bits, ``1..32``.
    """

    start_frac: float
    end_frac: float
    bits: int
    grad_bits: int

    def __post_init__(self) -> None:
        start = _check_frac("start_frac", self.start_frac)
        end = _check_frac("end_frac", self.end_frac)
        if not start < end:
            raise ConfigError(f"start_frac < end_frac must hold, but got (start_frac={start:g}, "
                              f"end_frac={end:g})", key="end_frac", value=end,
                              fix="give every segment a positive length")
        object.__setattr__(self, "start_frac", start)
        object.__setattr__(self, "end_frac", end)
        object.__setattr__(self, "bits", check_bits("bits", self.bits))
        object.__setattr__(self, "grad_bits", check_bits("grad_bits", self.grad_bits))

    def step_range(self, total_steps: int) -> range:
        """The steps this segment covers in a run of ``total_steps`` steps (may be empty)."""
        return range(boundary_step(self.start_frac, total_steps),
                     boundary_step(self.end_frac, total_steps))


def boundary_step(frac: float, total_steps: int) -> int:
    """First step at or after fraction ``frac`` of ``total_steps``: ``rint(frac * S)``."""
    return int(np.rint(frac * total_steps))


@dataclass(frozen=True)
class PiecewiseSchedule:
    """A frozen, hashable, piecewise-constant precision schedule.

    Attributes:
        segments: contiguous segments tiling ``[0, 1)`` in order.
        name: a short human name used as :attr:`label` (``None``: generated from the segments).
        nominal_steps: the training length the segments were designed for (a staircase of
            ``steps_per_bits`` steps per precision); ``None`` when any length is meant.
    """

    segments: tuple[Segment, ...]
    name: str | None = None
    nominal_steps: int | None = None

    def __post_init__(self) -> None:
        segments = tuple(self.segments)
        if not segments or not all(isinstance(s, Segment) for s in segments):
            raise ConfigError("a piecewise schedule needs at least one Segment", key="segments",
                              value=self.segments, fix="pass Segment(start_frac, end_frac, bits, "
                                                        "grad_bits) values covering 0..1")
        if segments[0].start_frac != 0.0 or segments[-1].end_frac != 1.0:
            raise ConfigError("segments must cover training from 0 to 1, but got "
                              f"({segments[0].start_frac:g}..{segments[-1].end_frac:g})",
                              key="segments", fix="start the first at 0 and end the last at 1")
        for before, after in zip(segments, segments[1:]):
            if before.end_frac != after.start_frac:
                raise ConfigError("segments must be contiguous: each starts where the previous "
                                  f"ends, but got end_frac={before.end_frac:g} then "
                                  f"start_frac={after.start_frac:g}", key="segments",
                                  fix="remove the gap or the overlap")
        object.__setattr__(self, "segments", segments)
        if self.nominal_steps is not None:
            steps = self.nominal_steps
            if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
                raise ConfigError("nominal_steps must be a whole number >= 1", key="nominal_steps",
                                  value=steps, fix="leave it unset or give the planned steps")
            object.__setattr__(self, "nominal_steps", int(steps))

    # ------------------------------------------------------------------ evaluation

    def tracks(self, total_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward and gradient bits for every step ``0 .. total_steps - 1`` (int64 arrays)."""
        if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) \
                or total_steps < 1:
            raise ConfigError("total_steps >= 1 must hold", key="total_steps", value=total_steps,
                              fix="use a whole number of steps >= 1")
        bits = np.empty(int(total_steps), dtype=np.int64)
        grad_bits = np.empty(int(total_steps), dtype=np.int64)
        for segment in self.segments:
            window = segment.step_range(int(total_steps))
            bits[window.start:window.stop] = segment.bits
            grad_bits[window.start:window.stop] = segment.grad_bits
        return bits, grad_bits

    def bits_at(self, step: int, total_steps: int) -> tuple[int, int]:
        """``(bits, grad_bits)`` at one step."""
        if not 0 <= step < total_steps:
            raise ConfigError("0 <= step < total_steps must hold", key="step", value=step,
                              fix=f"use a step in 0..{total_steps - 1}")
        bits, grad_bits = self.tracks(total_steps)
        return int(bits[step]), int(grad_bits[step])

    # Bounds: the trainer evaluates at (max_bits, max_grad_bits), the precision the model is
    # deployed at; for an impairment window that is the base precision, as critical-period
    # studies evaluate with the deficit removed.
    @property
    def max_bits(self) -> int:
        """Highest forward bits of any segment."""
        return max(s.bits for s in self.segments)

    @property
    def min_bits(self) -> int:
        """Lowest forward bits of any segment."""
        return min(s.bits for s in self.segments)

    @property
    def max_grad_bits(self) -> int:
        """Highest gradient bits of any segment."""
        return max(s.grad_bits for s in self.segments)

    @property
    def min_grad_bits(self) -> int:
        """Lowest gradient bits of any segment."""
        return min(s.grad_bits for s in self.segments)

    @property
    def is_static(self) -> bool:
        """Whether every segment has the same ``(bits, grad_bits)``."""
        return len({(s.bits, s.grad_bits) for s in self.segments}) == 1

    @property
    def label(self) -> str:
        """``name`` when given, else e.g. ``"3/8 [0,0.25) | 8/8 [0.25,1)"``."""
        if self.name:
            return self.name
        return " | ".join(f"{s.bits}/{s.grad_bits} [{s.start_frac:g},{s.end_frac:g})"
                          for s in self.segments)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """Plain values; ``PiecewiseSchedule.from_dict(p.to_dict()) == p``."""
        return {
            "kind": KIND,
            "segments": [[s.start_frac, s.end_frac, s.bits, s.grad_bits] for s in self.segments],
            "name": self.name,
            "nominal_steps": self.nominal_steps,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str | None = None) -> "PiecewiseSchedule":
        """Inverse of :meth:`to_dict`; bad shapes and values are :class:`ConfigError`."""
        keys = ("kind", "segments", "name", "nominal_steps")
        if not isinstance(data, Mapping):
            raise ConfigError("a piecewise schedule must be a mapping", where=where, value=data,
                              fix=f"use keys from: {', '.join(keys)}")
        unknown = [key for key in data if key not in keys]
        if unknown:
            raise ConfigError("unknown piecewise schedule key", where=where, key=str(unknown[0]),
                              fix=f"use keys from: {', '.join(keys)}")
        if data.get("kind", KIND) != KIND:
            raise ConfigError(f"kind must be {KIND!r}", where=where, key="kind",
                              value=data.get("kind"), fix=f"use kind: {KIND}")
        try:
            rows = data.get("segments") or []
            segments = []
            for row in rows:
                if not isinstance(row, Sequence) or isinstance(row, str) or len(row) != 4:
                    raise ConfigError("a segment is [start_frac, end_frac, bits, grad_bits]",
                                      key="segments", value=row, fix="give four numbers per segment")
                segments.append(Segment(*row))
            return cls(segments=tuple(segments), name=data.get("name"),
                       nominal_steps=data.get("nominal_steps"))
        except ConfigError as error:
            raise error.with_context(where=where) from None


def is_piecewise_dict(data: Any) -> bool:
    """Whether a schedule dict came from :meth:`PiecewiseSchedule.to_dict`."""
    return isinstance(data, Mapping) and data.get("kind") == KIND


def schedule_from_any_dict(data: Mapping[str, Any], *, where: str | None = None):
    """A :class:`PiecewiseSchedule` or a :class:`~cpt_search.schedule.Schedule` from its dict."""
    if is_piecewise_dict(data):
        return PiecewiseSchedule.from_dict(data, where=where)
    from cpt_search.schedule import Schedule

    return Schedule.from_dict(data, where=where)


# ---------------------------------------------------------------------- constructors


def impairment_window(impair_bits: int, base_bits: int, grad_bits: int, start_frac: float,
                      end_frac: float, *, name: str | None = None) -> PiecewiseSchedule:
    """``impair_bits`` forward bits over ``[start_frac, end_frac)``, ``base_bits`` elsewhere.

    The gradient bits stay at ``grad_bits`` throughout (both papers hold them constant). An early
    window has ``start_frac == 0``, a late one ``end_frac == 1``; an empty window
    (``start_frac == end_frac``) is the unimpaired control, a static ``base_bits`` schedule.

    Raises:
        ConfigError: bits out of ``1..32``, ``impair_bits >= base_bits`` (not an impairment), or a
            window outside ``0 <= start_frac <= end_frac <= 1``.
    """
    impair_bits = check_bits("impair_bits", impair_bits)
    base_bits = check_bits("base_bits", base_bits)
    grad_bits = check_bits("grad_bits", grad_bits)
    if impair_bits >= base_bits:
        raise ConfigError(f"impair_bits < base_bits must hold, but got (impair_bits={impair_bits}, "
                          f"base_bits={base_bits})", key="impair_bits", value=impair_bits,
                          fix="an impairment trains at lower precision than the rest")
    start = _check_frac("start_frac", start_frac)
    end = _check_frac("end_frac", end_frac)
    if start > end:
        raise ConfigError(f"start_frac <= end_frac must hold, but got (start_frac={start:g}, "
                          f"end_frac={end:g})", key="start_frac", value=start,
                          fix="give the window as start <= end within 0..1")
    pieces = [(0.0, start, base_bits), (start, end, impair_bits), (end, 1.0, base_bits)]
    segments = tuple(Segment(a, b, bits, grad_bits) for a, b, bits in pieces if b > a)
    return PiecewiseSchedule(segments=segments, name=name)


def staircase(bits_list: Sequence[int], steps_per_bits: int, *, grad_bits: int = 8,
              name: str | None = None) -> PiecewiseSchedule:
    """``steps_per_bits`` steps at each of ``bits_list`` in turn (CPT's precision range test).

    The segments are equal fractions ``[i/n, (i+1)/n)`` and ``nominal_steps = n * steps_per_bits``,
    so over its nominal length stage ``i`` covers exactly steps ``i*N .. (i+1)*N - 1``.
    """
    bits_list = [check_bits("bits", b) for b in bits_list]
    if not bits_list:
        raise ConfigError("a staircase needs at least one precision", key="bits_list",
                          value=bits_list, fix="give e.g. [2, 3, 4, 5, 6, 7, 8]")
    if isinstance(steps_per_bits, bool) or not isinstance(steps_per_bits, numbers.Integral) \
            or steps_per_bits < 1:
        raise ConfigError("steps_per_bits >= 1 must hold", key="steps_per_bits",
                          value=steps_per_bits, fix="train at least one step per precision")
    grad_bits = check_bits("grad_bits", grad_bits)
    n = len(bits_list)
    segments = tuple(Segment(i / n, (i + 1) / n, bits, grad_bits) for i, bits in enumerate(bits_list))
    return PiecewiseSchedule(
        segments=segments,
        name=name or f"staircase {bits_list[0]}..{bits_list[-1]}/{grad_bits} x{steps_per_bits}",
        nominal_steps=n * int(steps_per_bits),
    )


# ---------------------------------------------------------------------- validation helpers


def _check_frac(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not -_FRAC_EPS <= float(value) <= 1.0 + _FRAC_EPS:
        raise ConfigError("0 <= fraction <= 1 must hold", key=key, value=value,
                          fix="give fractions of training between 0 and 1")
    value = float(value)
    for snap in (0.0, 1.0):
        if abs(value - snap) <= _FRAC_EPS:
            return snap
    return value
