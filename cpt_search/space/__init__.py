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
    cooldown_frac, cooldown_bits a closing phase at the end, as warmup_frac / warmup_bits
    exp_rate, rex_beta, ...      a profile's shape constants (cpt_search.profiles), asked for it only

Every sample of a valid space is a valid schedule: the bit bounds are parametrised so that
``min <= max <= 32`` always holds, which is checked once when the space is parsed rather than
rejected per trial.

A space holds no Optuna objects: :mod:`cpt_search.search.suggest` turns it into suggestions and
:mod:`cpt_search.search.samplers` into a sampler.

Modules:

    dimensions         Fixed / Choices / IntRange / FloatRange, the per-dimension rules, ScheduleSpace
    sections           the file's sections as strict pydantic models
    model              SearchSpace, the validated and resolved space
    loading            load_space / parse_space: YAML with line numbers, resolution against the task
    schedule_parsing   the ``schedule`` section into a ScheduleSpace (bit bounds checked once)
    problems           one-line ConfigErrors: key paths to line numbers, pydantic errors, suggestions
    names              the search-name rule shared with the store and the CLI
"""

from __future__ import annotations

from cpt_search.space.dimensions import (
    RULES,
    Choices,
    Dim,
    Fixed,
    FloatRange,
    IntRange,
    ScheduleSpace,
    schedule_space_names,
)
from cpt_search.space.loading import load_space, parse_space
from cpt_search.space.model import NOMINAL_TOTAL_STEPS, SearchSpace
from cpt_search.space.names import SEARCH_NAME_RE, check_search_name
from cpt_search.space.sections import (
    DEFAULT_BASELINE,
    OBJECTIVE_DIRECTIONS,
    BaselineBits,
    Constraints,
    Objective,
    Resources,
    SamplerSpec,
)

__all__ = [
    "BaselineBits", "Choices", "Constraints", "DEFAULT_BASELINE", "Dim", "Fixed", "FloatRange",
    "IntRange", "NOMINAL_TOTAL_STEPS", "OBJECTIVE_DIRECTIONS", "Objective", "RULES", "Resources",
    "SEARCH_NAME_RE", "SamplerSpec", "ScheduleSpace", "SearchSpace",
    "check_search_name", "load_space", "parse_space", "schedule_space_names",
]
