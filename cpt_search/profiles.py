"""Schedule profiles: pure shapes ``[0, 1] -> [0, 1]``, each with its own shape constants.

A profile only says how precision *grows* inside one period, as a fraction of the way from the lower to
the upper bound. Direction (growth or decay), bounds, cycles, warm-up and rounding belong to
:class:`cpt_search.schedule.Schedule`, so there is one function per shape rather than a
``grow``/``decay`` pair of near-copies for each (the research code has eight).

A profile that takes constants declares them in :attr:`Profile.params` (name, default, allowed
range): the schedule validates and stores them, search spaces offer them as dimensions asked only
for that profile, and the CLI and every error message list them, all from this one declaration.

To add a profile, subclass :class:`Profile` and register an instance with :func:`register_profile`;
the contract tests in ``tests/test_profiles.py`` cover every registered profile automatically.
"""

from __future__ import annotations

import abc
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from cpt_search.errors import ConfigError
from cpt_search.registry import Registry


@dataclass(frozen=True)
class ShapeParam:
    """A shape constant of one profile: its default and the inclusive range it may take.

    Attributes:
        default: the value used when a schedule does not set it.
        low, high: the allowed range; ``high_open`` makes the upper end exclusive.
        help: one line for help texts.
    """

    default: float
    low: float
    high: float
    high_open: bool = False
    help: str = ""

    def range_text(self) -> str:
        """``[low, high]`` or ``[low, high)``."""
        return f"[{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def check(self, key: str, value: Any) -> float:
        """``value`` as a float in range, else a :class:`ConfigError` naming ``key``."""
        ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
        if ok:
            v = float(value)
            ok = self.low <= v and (v < self.high if self.high_open else v <= self.high)
        if not ok:
            raise ConfigError(f"{key} in {self.range_text()} must hold", key=key, value=value,
                              fix=f"use a number in {self.range_text()} (default {self.default:g})")
        return float(value)


class Profile(abc.ABC):
    """A growth shape: ``shape(0) == 0`` and ``shape`` rises towards 1 as ``z -> 1``.

    Attributes:
        name: the registry name (``profile:`` in schedules and spaces).
        params: the shape constants this profile takes (none for most).
        symmetric: whether a triangle's two reflections coincide (horizontal ``g(1 - z)`` equals
            vertical ``q0 + q1 - g(z)``), so the flip of a triangular schedule does not matter.
    """

    name: ClassVar[str]
    params: ClassVar[Mapping[str, ShapeParam]] = {}
    symmetric: ClassVar[bool] = False

    @abc.abstractmethod
    def shape(self, z: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        """Fraction of the bound range reached at period position ``z`` in ``[0, 1)``."""

    def defaults(self) -> dict[str, float]:
        """Every shape constant at its default."""
        return {key: spec.default for key, spec in self.params.items()}


class Cosine(Profile):
    """CPT's cosine growth: ``q0 + D/2 (1 - cos(pi z))`` (Fu et al. 2021, eq. 1)."""

    name = "cosine"
    symmetric = True

    def shape(self, z: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        return (1.0 - np.cos(np.pi * z)) / 2.0


class Linear(Profile):
    """Linear growth ``q0 + D z``."""

    name = "linear"
    symmetric = True

    def shape(self, z: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        return np.asarray(z, dtype=np.float64)


class Exponential(Profile):
    """Exponential growth ``q1 - D exp(-rate z)``: rises fast, then sits near the upper bound
    (Wolfe & Kyrillidis 2024 use rate 4)."""

    name = "exp"
    params = {"exp_rate": ShapeParam(4.0, 1e-6, 1e6, help="exp profile rate")}

    def shape(self, z: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        return 1.0 - np.exp(-params["exp_rate"] * z)


class Rex(Profile):
    """REX growth ``q1 - D rex(1 - z)`` with ``rex(u) = u / ((1 - beta) + beta u)``.

    Sits near the lower bound and rises sharply at the end of the period (Chen et al.'s REX learning
    rate profile, used as a precision profile by Wolfe & Kyrillidis 2024 with beta 0.9).
    """

    name = "rex"
    params = {"rex_beta": ShapeParam(0.9, 0.0, 1.0, high_open=True, help="rex profile beta")}

    def shape(self, z: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        u = 1.0 - np.asarray(z, dtype=np.float64)
        beta = params["rex_beta"]
        return 1.0 - u / ((1.0 - beta) + beta * u)


def register_profile(profile: Profile) -> Profile:
    """Add ``profile`` to :data:`PROFILES`; its shape constants must not clash with another's.

    Raises:
        ConfigError: the name is taken, or a shape constant's name is already another profile's.
    """
    taken = {key: other.name for other in PROFILES.registered().values() for key in other.params}
    clash = [key for key in profile.params if key in taken]
    if clash:
        raise ConfigError(f"shape constant {clash[0]!r} of profile {profile.name!r} is already "
                          f"profile {taken[clash[0]]!r}'s", key="params", value=clash[0],
                          fix="prefix the constant with the profile's name")
    return PROFILES.register(profile.name, profile)


# Installed packages add profiles under the entry-point group ``cpt_search.profiles``.
PROFILES: Registry[Profile] = Registry("profile", plugins="cpt_search.profiles", entry_type=Profile,
                                       adopt=lambda name, profile: register_profile(profile))


def shape_param_names() -> list[str]:
    """Every registered profile's shape constants, in registration order."""
    return [key for name in PROFILES for key in PROFILES.get(name).params]


def owner_of(param: str) -> Profile | None:
    """The registered profile that takes shape constant ``param`` (``None``: none does)."""
    for name in PROFILES:
        if param in PROFILES.get(name).params:
            return PROFILES.get(name)
    return None


BUILTIN_PROFILES: tuple[str, ...] = ()
for _profile in (Cosine(), Linear(), Exponential(), Rex()):
    register_profile(_profile)
BUILTIN_PROFILES = tuple(PROFILES.names())
