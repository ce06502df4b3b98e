"""Bit-widths: the one full-precision constant and the one bits validator of the project.

Every bit-width a user gives (schedule fields, space dimensions, CLI flags, ``QuantHandle.set_bits``)
is checked by :func:`check_bits`, so the rule and its message are the same everywhere.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

MIN_BITS = 1
FULL_PRECISION_BITS = 32  # "32 bits" means the layer runs in exact FP32, not a 32-bit fake quantizer


def check_bits(key: str, value: Any, *, where: str | None = None) -> int:
    """A bit-width as an int in ``1..32``, else a :class:`~cpt_search.errors.ConfigError` naming
    ``where`` and ``key`` and the value. Integers of any kind (numpy too) pass; floats, bools and
    strings do not."""
    from cpt_search.errors import ConfigError

    try:
        bits = operator.index(value)  # ints and numpy ints; rejects floats such as 4.5
    except TypeError:
        bits = None
    if bits is None or isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not MIN_BITS <= bits <= FULL_PRECISION_BITS:
        raise ConfigError(
            f"bits must be an integer in {MIN_BITS}..{FULL_PRECISION_BITS}", where=where, key=key,
            value=value, fix=f"use {MIN_BITS}..{FULL_PRECISION_BITS} (32 = full precision)",
        )
    return int(bits)
