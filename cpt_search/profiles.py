"""Schedule profiles: pure shapes ``[0, 1] -> [0, 1]`` (REFERENCE §1).

A profile only says how precision *grows* inside one period, as a fraction of the way from the lower to
the upper bound. Direction (growth or decay), bounds, cycles, warm-up and rounding belong to
:class:`cpt_search.schedule.Schedule`, so there is one function per shape rather than a
``grow``/``decay`` pair of near-copies for each (the research code has eight).

To add a profile, subclass :class:`Profile` and register an instance in :data:`PROFILES`; the contract
tests in ``tests/test_profiles.py`` cover every registered profile automatically.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from cpt_search.registry import Registry


@dataclass(frozen=True)
class ShapeParams:
    """Shape constants some profiles take (the schedule carries them).

    Attributes:
        exp_rate: rate of the exponential profile (Better Schedules uses 4).
        rex_beta: the REX profile's beta (Better Schedules uses 0.9).
    """

    exp_rate: float = 4.0
    rex_beta: float = 0.9


class Profile(abc.ABC):
    """A growth shape: ``shape(0) == 0`` and ``shape`` rises towards 1 as ``z -> 1``."""

    name: str

    @abc.abstractmethod
    def shape(self, z: np.ndarray, params: ShapeParams) -> np.ndarray:
        """Fraction of the bound range reached at period position ``z`` in ``[0, 1)``."""


class Cosine(Profile):
    """CPT's cosine growth: ``q0 + D/2 (1 - cos(pi z))`` (Fu et al. 2021, eq. 1)."""

    name = "cosine"

    def shape(self, z: np.ndarray, params: ShapeParams) -> np.ndarray:
        return (1.0 - np.cos(np.pi * z)) / 2.0


class Linear(Profile):
    """Linear growth ``q0 + D z``."""

    name = "linear"

    def shape(self, z: np.ndarray, params: ShapeParams) -> np.ndarray:
        return np.asarray(z, dtype=np.float64)


class Exponential(Profile):
    """Exponential growth ``q1 - D exp(-rate z)``: rises fast, then sits near the upper bound."""

    name = "exp"

    def shape(self, z: np.ndarray, params: ShapeParams) -> np.ndarray:
        return 1.0 - np.exp(-params.exp_rate * z)


class Rex(Profile):
    """REX growth ``q1 - D rex(1 - z)`` with ``rex(u) = u / ((1 - beta) + beta u)``.

    Sits near the lower bound and rises sharply at the end of the period (Chen et al.'s REX learning
    rate profile, used as a precision profile by Better Schedules).
    """

    name = "rex"

    def shape(self, z: np.ndarray, params: ShapeParams) -> np.ndarray:
        u = 1.0 - np.asarray(z, dtype=np.float64)
        beta = params.rex_beta
        return 1.0 - u / ((1.0 - beta) + beta * u)


PROFILES: Registry[Profile] = Registry("profile")
for _profile in (Cosine(), Linear(), Exponential(), Rex()):
    PROFILES.register(_profile.name, _profile)
