"""Click parameter types for numbers that must stay finite and bounded (:mod:`cpt_search.limits`).

``click.FloatRange`` lets ``nan`` through (every comparison with nan is false) and ``inf`` through
when no maximum is set; ``click.IntRange`` without a maximum passes ``10**30`` on to numpy or torch.
"""

from __future__ import annotations

import math
from typing import Any

import click

from cpt_search.limits import MAX_SEED


class FiniteFloat(click.ParamType):
    """A finite float in ``low..high`` (inclusive); nan and inf are usage errors naming the flag."""

    name = "float"

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """Parse ``value``; a non-number, nan, inf or a value outside the range fails."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{value!r} is not a finite number in {self.low:g}..{self.high:g}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"FiniteFloat({self.low:g}, {self.high:g})"


def bounded_int(low: int, high: int) -> click.IntRange:
    """An int flag in ``low..high`` (inclusive)."""
    return click.IntRange(min=low, max=high)


SEED = bounded_int(0, MAX_SEED)
"""A seed flag: ``0 .. 2**32 - 1`` (numpy and Optuna take 32-bit seeds)."""
