"""An independent, deliberately naive per-step implementation of docs/method.md §1, for differential tests.

Written straight from the formulas with ``math`` and Python's ``round`` (half to even), one step at a
time, sharing no code with :mod:`cpt_search.schedule`.
"""

from __future__ import annotations

import math


def growth(profile: str, z: float, q0: int, q1: int, exp_rate: float = 4.0, beta: float = 0.9) -> float:
    d = q1 - q0
    if profile == "cosine":
        return q0 + d / 2 * (1 - math.cos(math.pi * z))
    if profile == "linear":
        return q0 + d * z
    if profile == "exp":
        return q1 - d * math.exp(-exp_rate * z)
    if profile == "rex":
        u = 1 - z
        return q1 - d * (u / ((1 - beta) + beta * u))
    raise ValueError(profile)


def bits_at(t: int, total: int, profile: str, form: str, flip: str, n: int, q0: int, q1: int,
            warmup_frac: float = 0.0, warmup_bits: int | None = None, cooldown_frac: float = 0.0,
            cooldown_bits: int | None = None) -> int:
    w = round(warmup_frac * total)
    c = round(cooldown_frac * total)
    if t < w:
        return q1 if warmup_bits is None else warmup_bits
    if t >= total - c:
        return q1 if cooldown_bits is None else cooldown_bits
    if q0 == q1:
        return q0
    s = total - w - c
    period = math.ceil(s / n)
    tc = t - w
    z = (tc % period) / period
    p = tc // period
    if form == "repeated" or p % 2 == 1:
        value = growth(profile, z, q0, q1)
    elif flip == "vertical":
        value = q0 + q1 - growth(profile, z, q0, q1)
    else:
        value = growth(profile, 1 - z, q0, q1)
    return round(value)
