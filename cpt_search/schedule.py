"""The precision schedule: a pure function of the training step (Fu et al. 2021; Wolfe & Kyrillidis 2024).

Phases of one schedule over ``total_steps`` steps:

1. **warm-up** (optional): the first ``W = round(warmup_frac * total_steps)`` steps run at
   ``warmup_bits`` (32 = full precision), so the critical early period is not impaired. Full
   precision first, then quantized training, is also what Compute-Optimal QAT (Dremov et al. 2025,
   arXiv 2509.22935) finds best, with a quantized fraction that depends on the compute budget.
2. **cycles**: the ``S = total_steps - W - C`` steps between warm-up and cool-down are split into
   ``num_cycles`` periods of ``T = ceil(S / num_cycles)`` steps. Inside a period at position
   ``z = (t' mod T) / T``:

   - ``repeated``: every period grows, ``g(z) = min + (max - min) * shape(z)`` (a saw-tooth; CPT);
   - ``triangular``: even periods decay and odd periods grow, so a triangle is two periods and the
     schedule starts at ``max``. The decay half mirrors the growth half ``vertical``-ly
     (``min + max - g(z)``) or ``horizontal``-ly (``g(1 - z)``).

3. **cool-down** (optional): the last ``C = round(cooldown_frac * total_steps)`` steps run at
   ``cooldown_bits`` forward and ``cooldown_grad_bits`` for the errors: a switch to higher
   precision late in training, as FP4 All the Way (Chmiel et al. 2025, arXiv 2505.19115) does to
   close the gap of 4-bit training. The gradient bits follow the warm-up's rule: 32 when the
   cool-down is full precision, else the gradient track's top (``max_grad_bits``), so a closing
   phase never quantizes errors more coarsely than the cycles did.
4. **rounding**: half to even (``numpy.rint``), as the papers' ``round()`` does.

The gradient track has its own bounds and the same shape. A schedule with equal bounds is a static
baseline; 32/32 is full precision.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Protocol, cast, runtime_checkable

import numpy as np

from cpt_search.bits import FULL_PRECISION_BITS, check_bits
from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.profiles import PROFILES, owner_of, shape_param_names

FORMS = ("repeated", "triangular")
FLIPS = ("vertical", "horizontal")


@dataclass(frozen=True)
class Schedule:
    """One member of the cyclic-precision schedule family; frozen, hashable, serialisable.

    Attributes:
        profile: growth shape, a name in :data:`cpt_search.profiles.PROFILES`.
        form: ``"repeated"`` (saw-tooth) or ``"triangular"`` (decay then grow).
        flip: how a triangle's decay half mirrors the growth half: ``"vertical"`` or ``"horizontal"``.
        num_cycles: number of periods ``n`` (a triangle spans two periods).
        min_bits, max_bits: forward (weight and activation) bounds, ``1 <= min <= max <= 32``.
        min_grad_bits, max_grad_bits: gradient (error) bounds; equal in every published run.
        warmup_frac: fraction of training run at ``warmup_bits`` before the cycles, ``0 <= f < 1``.
        warmup_bits: forward bits during warm-up; ``None`` means ``max_bits``.
        warmup_grad_bits: gradient bits during warm-up; ``None`` means 32 when ``warmup_bits`` is 32
            (a full-precision warm-up) and ``max_grad_bits`` otherwise.
        cooldown_frac: fraction of training run at ``cooldown_bits`` after the cycles,
            ``0 <= f < 1`` and ``warmup_frac + cooldown_frac < 1``; 0 (the default) = no cool-down.
        cooldown_bits: forward bits during cool-down; ``None`` means ``max_bits``.
        cooldown_grad_bits: gradient bits during cool-down; ``None`` means 32 when ``cooldown_bits``
            is 32 and ``max_grad_bits`` otherwise (the warm-up's rule).
        shape: the profile's shape constants (``{"exp_rate": 4.0}`` for ``exp``); omitted ones take
            the profile's defaults (:attr:`cpt_search.profiles.Profile.params`). Stored as sorted
            ``(name, value)`` pairs so the schedule stays hashable; :attr:`shape_params` is the dict.
    """

    profile: str = "cosine"
    form: str = "repeated"
    flip: str = "vertical"
    num_cycles: int = 8
    min_bits: int = 3
    max_bits: int = 8
    min_grad_bits: int = 8
    max_grad_bits: int = 8
    warmup_frac: float = 0.0
    warmup_bits: int | None = None
    warmup_grad_bits: int | None = None
    cooldown_frac: float = 0.0
    cooldown_bits: int | None = None
    cooldown_grad_bits: int | None = None
    shape: tuple[tuple[str, float], ...] | Mapping[str, float] = ()

    FIELDS: ClassVar[tuple[str, ...]]

    def __post_init__(self) -> None:
        profile = PROFILES.get(self.profile, key="profile")
        _check_choice("form", self.form, FORMS)
        _check_choice("flip", self.flip, FLIPS)
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        set_("num_cycles", _check_int("num_cycles", self.num_cycles, low=1))
        for name in ("min_bits", "max_bits", "min_grad_bits", "max_grad_bits"):
            set_(name, check_bits(name, getattr(self, name)))
        _check_order("min_bits", self.min_bits, "max_bits", self.max_bits)
        _check_order("min_grad_bits", self.min_grad_bits, "max_grad_bits", self.max_grad_bits)
        set_("warmup_frac", _check_float("warmup_frac", self.warmup_frac, "0 <= warmup_frac < 1",
                                         lambda f: 0.0 <= f < 1.0))
        warmup_bits = self.max_bits if self.warmup_bits is None else self.warmup_bits
        set_("warmup_bits", check_bits("warmup_bits", warmup_bits))
        if self.warmup_grad_bits is None:
            full = self.warmup_bits == FULL_PRECISION_BITS
            set_("warmup_grad_bits", FULL_PRECISION_BITS if full else self.max_grad_bits)
        set_("warmup_grad_bits", check_bits("warmup_grad_bits", self.warmup_grad_bits))
        set_("cooldown_frac", _check_float("cooldown_frac", self.cooldown_frac, "0 <= cooldown_frac < 1",
                                           lambda f: 0.0 <= f < 1.0))
        if self.warmup_frac + self.cooldown_frac >= 1.0:
            raise ConfigError(f"warmup_frac + cooldown_frac < 1 must hold, but got (warmup_frac="
                              f"{self.warmup_frac:g}, cooldown_frac={self.cooldown_frac:g})",
                              key="cooldown_frac", value=self.cooldown_frac,
                              fix="shorten the warm-up or the cool-down so that cycles remain")
        cooldown_bits = self.max_bits if self.cooldown_bits is None else self.cooldown_bits
        set_("cooldown_bits", check_bits("cooldown_bits", cooldown_bits))
        if self.cooldown_grad_bits is None:
            full = self.cooldown_bits == FULL_PRECISION_BITS
            set_("cooldown_grad_bits", FULL_PRECISION_BITS if full else self.max_grad_bits)
        set_("cooldown_grad_bits", check_bits("cooldown_grad_bits", self.cooldown_grad_bits))
        given = dict(self.shape)
        for key in given:
            if key not in profile.params:
                raise ConfigError(f"profile {self.profile} takes no shape constant {key!r}", key=key,
                                  value=given[key],
                                  fix=f"its constants: {', '.join(profile.params) or 'none'}")
        set_("shape", tuple(sorted(
            (key, spec.check(key, given.get(key, spec.default))) for key, spec in profile.params.items())))

    @property
    def shape_params(self) -> dict[str, float]:
        """The profile's shape constants, every one set (defaults filled in)."""
        return dict(self.shape)  # normalised to pairs in __post_init__

    # ------------------------------------------------------------------ evaluation

    def warmup_steps(self, total_steps: int) -> int:
        """``W = round(warmup_frac * total_steps)``, rounded half to even."""
        return int(np.rint(self.warmup_frac * _check_total_steps(total_steps)))

    def cooldown_steps(self, total_steps: int) -> int:
        """``C = round(cooldown_frac * total_steps)``, rounded half to even."""
        return int(np.rint(self.cooldown_frac * _check_total_steps(total_steps)))

    def period_steps(self, total_steps: int) -> int:
        """Period length ``T = ceil(S / num_cycles)`` of the cyclic phase, in steps."""
        cycle_steps = self._cycle_steps(total_steps)
        return -(-cycle_steps // self.num_cycles)

    def tracks(self, total_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward and gradient bits for every step ``0 .. total_steps - 1`` (int64 arrays)."""
        return self.tracks_at(np.arange(_check_total_steps(total_steps)), total_steps)

    def tracks_at(self, steps: np.ndarray, total_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward and gradient bits at the given steps of a run of ``total_steps`` steps."""
        steps = np.asarray(steps, dtype=np.int64)
        warmup = self.warmup_steps(total_steps)
        period = self.period_steps(total_steps)
        cycle_t = np.maximum(steps - warmup, 0)
        z = (cycle_t % period) / period
        grow = (cycle_t // period) % 2 == 1 if self.form == "triangular" else np.ones(z.shape, bool)
        in_warmup = steps < warmup
        in_cooldown = steps >= total_steps - self.cooldown_steps(total_steps)
        bits = self._track(z, grow, self.min_bits, self.max_bits)
        grad_bits = self._track(z, grow, self.min_grad_bits, self.max_grad_bits)
        # the phases' bits are never None after __post_init__ (None there means "max_bits")
        warm, warm_grad = cast(int, self.warmup_bits), cast(int, self.warmup_grad_bits)
        cool, cool_grad = cast(int, self.cooldown_bits), cast(int, self.cooldown_grad_bits)
        bits = np.where(in_warmup, warm, np.where(in_cooldown, cool, bits))
        grad_bits = np.where(in_warmup, warm_grad, np.where(in_cooldown, cool_grad, grad_bits))
        return bits.astype(np.int64), grad_bits.astype(np.int64)

    def bits_at(self, step: int, total_steps: int) -> tuple[int, int]:
        """``(bits, grad_bits)`` at one step."""
        step = _check_int("step", step, low=0)
        if step >= total_steps:
            raise ConfigError("step must be < total_steps", key="step", value=step,
                              fix=f"use a step in 0..{total_steps - 1}")
        bits, grad_bits = self.tracks_at(np.array([step]), total_steps)
        return int(bits[0]), int(grad_bits[0])

    def _cycle_steps(self, total_steps: int) -> int:
        warmup, cooldown = self.warmup_steps(total_steps), self.cooldown_steps(total_steps)
        cycle_steps = _check_total_steps(total_steps) - warmup - cooldown
        if cycle_steps < self.num_cycles:
            closing = f" and a cool-down of {cooldown} steps" if cooldown else ""
            raise ConfigError(
                "the steps after warm-up must be at least num_cycles (one step per period)",
                key="total_steps", value=total_steps,
                fix=f"use total_steps >= {self.num_cycles} after a warm-up of "
                    f"{warmup} steps{closing}, or fewer cycles",
            )
        return cycle_steps

    def _track(self, z: np.ndarray, grow: np.ndarray, low_bits: int, high_bits: int) -> np.ndarray:
        if low_bits == high_bits:
            return np.full(z.shape, low_bits, dtype=np.int64)
        profile = PROFILES.get(self.profile)
        params = self.shape_params
        span = high_bits - low_bits
        growth = low_bits + span * profile.shape(z, params)
        if self.form == "repeated":
            value = growth
        elif self.flip == "vertical":
            value = np.where(grow, growth, low_bits + high_bits - growth)
        else:
            value = np.where(grow, growth, low_bits + span * profile.shape(1.0 - z, params))
        return np.rint(value).astype(np.int64)

    # ------------------------------------------------------------------ description

    @property
    def is_static(self) -> bool:
        """Whether both tracks are constant over the cyclic phase (a static baseline)."""
        return self.min_bits == self.max_bits and self.min_grad_bits == self.max_grad_bits

    @property
    def label(self) -> str:
        """A short human name: ``"CR 3-8/8 n=8"``, ``"static 8/8"``, ``"FP32"``, ..."""
        from cpt_search.presets import preset_name  # presets build on this module

        grad = _range_text(self.min_grad_bits, self.max_grad_bits)
        if self.is_static:
            text = "FP32" if self.max_bits == self.max_grad_bits == 32 else f"static {self.max_bits}/{grad}"
        else:
            name = preset_name(self) or f"{self.profile}-{self.form}"
            if name == f"{self.profile}-triangular" and not PROFILES.get(self.profile).symmetric:
                name += f"-{self.flip}"
            text = f"{name} {self.min_bits}-{self.max_bits}/{grad} n={self.num_cycles}"
        if self.warmup_frac > 0 and not (self.is_static and self.warmup_bits == self.max_bits
                                         and self.warmup_grad_bits == self.max_grad_bits):
            text += f" +warmup {self.warmup_frac:g}@{self.warmup_bits}"
        if self.cooldown_frac > 0 and not self._no_op_cooldown:
            text += f" +cooldown {self.cooldown_frac:g}@{self.cooldown_bits}"
        return text

    @property
    def _no_op_cooldown(self) -> bool:
        """A static schedule cooled down at its own bits: the cool-down changes no step."""
        return self.is_static and (self.cooldown_bits, self.cooldown_grad_bits) == (
            self.max_bits, self.max_grad_bits)

    def canonical(self) -> "Schedule":
        """The same training schedule with every parameter that cannot change its tracks reset.

        A static schedule's shape and cycles (and a warm-up or cool-down at its own bits), a repeated
        schedule's flip and the warm-up (cool-down) bits of a schedule without one are free
        parameters: ``s.tracks(n) == s.canonical().tracks(n)`` for every ``n`` that ``s`` accepts,
        and two schedules with equal canonical forms train identically.
        """
        default = _DEFAULT
        changes: dict[str, Any] = {}
        if self.is_static:
            changes.update(profile=default.profile, form=default.form, flip=default.flip,
                           num_cycles=1)
        elif self.form == "repeated" and self.flip != default.flip:
            changes["flip"] = default.flip
        no_op_warmup = self.is_static and (self.warmup_bits, self.warmup_grad_bits) == (
            self.max_bits, self.max_grad_bits)  # a static schedule warmed up at its own bits
        if self.warmup_frac == 0.0 or no_op_warmup:
            changes.update(warmup_frac=0.0, warmup_bits=None, warmup_grad_bits=None)
        if self.cooldown_frac == 0.0 or self._no_op_cooldown:
            changes.update(cooldown_frac=0.0, cooldown_bits=None, cooldown_grad_bits=None)
        return self.replace(**changes) if changes else self

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values: every field, the profile's shape constants as keys of their own
        (``exp_rate: 4.0``); ``Schedule.from_dict(s.to_dict()) == s``."""
        data = {name: getattr(self, name) for name in self.FIELDS}
        data.update(self.shape_params)
        return data

    @classmethod
    def keys(cls) -> list[str]:
        """Keys a schedule mapping may hold: the fields and every registered shape constant."""
        return list(cls.FIELDS) + shape_param_names()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str | None = None) -> "Schedule":
        """Build a schedule from a mapping; unknown keys and bad values are :class:`ConfigError`.

        Shape constants of a profile other than the schedule's own are free parameters of it and are
        dropped (files written before profiles owned their constants carry all of them).
        """
        if not isinstance(data, Mapping):
            raise ConfigError("a schedule must be a mapping of parameters", where=where,
                              value=data, fix=f"use keys from: {', '.join(cls.keys())}")
        unknown = [key for key in data if key not in cls.FIELDS and owner_of(str(key)) is None]
        if unknown:
            raise ConfigError("unknown schedule parameter", where=where, key=str(unknown[0]),
                              fix=f"use keys from: {', '.join(cls.keys())}")
        fields = {key: value for key, value in data.items() if key in cls.FIELDS}
        profile = fields.get("profile", _DEFAULT.profile)
        constants = {key: value for key, value in data.items() if key not in cls.FIELDS
                     and (owner := owner_of(str(key))) is not None and owner.name == profile}
        if constants:
            fields["shape"] = {**dict(fields.get("shape") or ()), **constants}
        try:
            return cls(**fields)
        except CptSearchError as error:  # UnknownNameError (a profile) too: name the source
            raise error.with_context(where=where) from None

    def replace(self, **changes: Any) -> "Schedule":
        """A copy with some fields (or shape constants) changed, validated again."""
        data = self.to_dict()
        if "profile" in changes and changes["profile"] != self.profile:
            data = {k: v for k, v in data.items() if k in self.FIELDS and k != "shape"}
        data.pop("shape", None)
        data.update(changes)
        return Schedule.from_dict(data)


Schedule.FIELDS = tuple(f.name for f in dataclasses.fields(Schedule) if f.name != "shape")


@runtime_checkable
class BitSchedule(Protocol):
    """What a trainer needs of a schedule: :class:`Schedule` and
    :class:`cpt_search.piecewise.PiecewiseSchedule` (impairment windows, range-test staircases) both
    provide it."""

    @property
    def max_bits(self) -> int:
        """The top forward bits (evaluation runs at these)."""

    @property
    def max_grad_bits(self) -> int:
        """The top gradient bits."""

    def tracks(self, total_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward and gradient bits for every step."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, read back by ``cpt_search.piecewise.schedule_from_any_dict``."""

    @property
    def label(self) -> str:
        """A short human name."""


# ---------------------------------------------------------------------- validation helpers


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}", key=key, value=value,
                          fix=f"use one of: {', '.join(choices)}")


def _check_int(key: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{key} must be an integer", key=key, value=value,
                          fix=f"use a whole number >= {low}")
    if value < low:
        raise ConfigError(f"{key} >= {low} must hold", key=key, value=int(value),
                          fix=f"use a whole number >= {low}")
    return int(value)


def _check_order(low_key: str, low: int, high_key: str, high: int) -> None:
    if low > high:
        raise ConfigError(f"{low_key} <= {high_key} must hold, but got ({low_key}={low}, "
                          f"{high_key}={high})", key=low_key, value=low,
                          fix=f"lower {low_key} or raise {high_key}")


def _check_float(key: str, value: Any, rule: str, ok: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not ok(float(value)):
        raise ConfigError(f"{rule} must hold", key=key, value=value, fix=f"use a number with {rule}")
    return float(value)


def _check_total_steps(total_steps: Any) -> int:
    return _check_int("total_steps", total_steps, low=1)


def _range_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


_DEFAULT = Schedule()  # after the validation helpers it needs
