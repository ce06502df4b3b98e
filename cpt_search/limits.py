"""Upper bounds on what a user may ask for: stated in the error messages, checked before any work.

Each bound keeps a mistyped number from reaching numpy, torch or Ray, where it becomes a traceback,
an allocation of terabytes or a process that never ends. The values are far above any real use:

* seeds go to ``numpy.random.default_rng``/``RandomState`` (which takes at most 32 bits), to
  ``torch.manual_seed`` and to Optuna's samplers (which refuse seeds of ``2**32`` or more);
* ``cpt-search schedule`` materialises every step of a schedule (two int64 tracks and their float
  intermediates): 10**7 steps take about 0.6 GB and 4 s, 10**8 steps 5.7 GB and a minute;
* a range test records one loss per step; a few hundred steps per precision give a clear signal
  (CPT, Fu et al., ICLR 2021, Sec. 3.3).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from cpt_search.errors import ConfigError

MAX_SEED = 2**32 - 1
"""Largest seed (numpy's and Optuna's limit)."""
MAX_SEEDS = 1_000
"""Most seeds a space or an analysis trains each schedule with."""
MAX_TRIALS = 100_000
"""Most sampled trials of one search."""
MAX_CONCURRENCY = 4_096
"""Most trials (or analysis trainings) at once."""
MAX_CPUS_PER_TRIAL = 1_024.0
"""Most CPUs one trial reserves."""
MAX_GPUS_PER_TRIAL = 64.0
"""Most GPUs one trial reserves."""
MAX_THREADS = 1_024
"""Most torch threads of one training."""
MAX_SCHEDULE_STEPS = 10**7
"""Most steps ``cpt-search schedule`` prints or plots (every step is materialised)."""
MAX_STEPS_PER_BITS = 100_000
"""Most training steps a range test spends at each precision."""


def check_int_at_most(value: Any, *, key: str, low: int, high: int, why: str = "",
                      where: str | None = None) -> int:
    """``value`` as an int in ``low..high`` (bools refused), else one :class:`ConfigError` line."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{key} must be an integer", where=where, key=key, value=value,
                          fix=f"use a whole number in {low}..{high}")
    number = int(value)
    if not low <= number <= high:
        reason = f" ({why})" if why else ""
        raise ConfigError(f"{low} <= {key.lstrip('-')} <= {high} must hold{reason}", where=where,
                          key=key, value=number, fix=f"use a whole number in {low}..{high}")
    return number


def check_finite_at_most(value: Any, *, key: str, low: float, high: float,
                         where: str | None = None) -> float:
    """``value`` as a finite float in ``low..high``, else one :class:`ConfigError` line."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or not low <= float(value) <= high:
        raise ConfigError(f"{low:g} <= {key.lstrip('-')} <= {high:g} must hold (a finite number)",
                          where=where, key=key, value=value, fix=f"use a number in {low:g}..{high:g}")
    return float(value)


def check_seed(value: Any, *, key: str, where: str | None = None) -> int:
    """A seed in ``0..2**32 - 1`` (numpy's limit), else one :class:`ConfigError` line."""
    return check_int_at_most(value, key=key, low=0, high=MAX_SEED, where=where,
                             why="numpy and Optuna take 32-bit seeds")
