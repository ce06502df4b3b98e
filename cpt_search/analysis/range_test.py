"""CPT's precision range test, the pure half: from per-step training values to a suggested ``min_bits``.

CPT (Fu et al. 2021, §3.3) trains briefly while raising the forward precision one bit at a time from
a low start and takes as the lower bound the first precision at which the training accuracy clearly
improves. Our runner (:mod:`cpt_search.analysis.range_run`) records the training loss of every step of
a staircase (``steps_per_bits`` steps per precision); this module scores each stage.

The rule, per stage of ``N`` steps at ``b`` bits (for a loss; signs flip for a higher-is-better
training metric):

* ``tail`` = the stage's last ``q = max(2, round(head_frac * N))`` steps; ``head`` = the previous
  stage's tail (the first stage, or after a diverged one: its own first ``q`` steps);
* ``improvement = mean(head) - mean(tail)``: how much lower the loss is at the end of this stage
  than at the end of the previous one. Comparing stage ends, not a stage's start with its end, keeps
  the shock of switching precision (the loss often jumps for a few steps) from counting as progress;
* ``noise = sqrt(var(head) / q + var(tail) / q)``: the standard error of that difference under
  step-to-step noise (sample variances, ddof = 1);
* the stage **works** when ``improvement > z * noise`` (default ``z = 3``: clearly above noise) **and**
  ``improvement >= min_frac * best`` where ``best`` is the largest improvement of any stage (default
  ``min_frac = 0.5``: a stage that barely moves while a later one learns fast is not "working").
  A stage with a non-finite value (diverged) never works.

The suggested ``min_bits`` is the smallest ``b`` whose stage works; ``None`` when none does (raise
the top of the range or train more steps per precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from cpt_search.errors import ConfigError
from cpt_search.profiles import PROFILES
from cpt_search.schedule import FLIPS, FORMS

DEFAULT_Z = 3.0
DEFAULT_MIN_FRAC = 0.5
DEFAULT_HEAD_FRAC = 0.25
MIN_STEPS_PER_BITS = 8  # head and tail need two steps each for a variance, with room between


@dataclass(frozen=True)
class StageScore:
    """One precision's stage of the range test.

    Attributes:
        bits: forward bits of the stage.
        steps: steps trained at it.
        head_mean, tail_mean: mean training value over the previous stage's last ``q`` steps (the
            first stage: its own first ``q``) and over this stage's last ``q`` steps.
        improvement: progress during the stage (positive = training got better).
        noise: standard error of ``improvement``.
        works: whether the stage passes the rule (see the module docstring).
    """

    bits: int
    steps: int
    head_mean: float
    tail_mean: float
    improvement: float
    noise: float
    works: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain values (``None`` for non-finite numbers), JSON-safe."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class RangeTestScore:
    """All stages and the suggestion.

    Attributes:
        stages: one score per precision, in training order.
        suggested_min_bits: the smallest precision whose stage works, or ``None``.
        z, min_frac, head_frac: the rule's constants.
        value_name: what was measured (``"train_loss"``).
    """

    stages: tuple[StageScore, ...]
    suggested_min_bits: int | None
    z: float
    min_frac: float
    head_frac: float
    value_name: str = "train_loss"

    @property
    def rule(self) -> str:
        """The rule in one line, for reports."""
        return (f"smallest bits whose stage ends with {self.value_name} better than the previous "
                f"stage's end by more than {self.z:g} standard errors and by at least "
                f"{self.min_frac:g} x the best stage's improvement (stage ends = last "
                f"{self.head_frac:g} of each stage)")


def score_stages(bits_list: Sequence[int], stage_values: Sequence[ArrayLike], *,
                 higher_is_better: bool = False, z: float = DEFAULT_Z,
                 min_frac: float = DEFAULT_MIN_FRAC, head_frac: float = DEFAULT_HEAD_FRAC,
                 value_name: str = "train_loss") -> RangeTestScore:
    """Score each stage and suggest ``min_bits`` (see the module docstring for the rule)."""
    if len(bits_list) != len(stage_values) or not bits_list:
        raise ConfigError("one list of values per precision is needed", key="stage_values",
                          value=f"{len(stage_values)} stages for {len(bits_list)} precisions",
                          fix="pass the values of each stage in order")
    if not (z >= 0 and 0 <= min_frac <= 1 and 0 < head_frac <= 0.5):
        raise ConfigError("0 <= z, 0 <= min_frac <= 1 and 0 < head_frac <= 0.5 must hold",
                          key="rule", value=(z, min_frac, head_frac), fix="use the defaults")
    sign = -1.0 if higher_is_better else 1.0  # improvement = sign * (head - tail)
    raw = []
    previous_tail: np.ndarray | None = None
    for bits, stage in zip(bits_list, stage_values):
        values = np.asarray(stage, dtype=np.float64)
        if values.size < 4:
            raise ConfigError(f"a stage needs at least {4} steps to score", key="steps_per_bits",
                              value=int(values.size), fix=f"train >= {MIN_STEPS_PER_BITS} steps "
                                                          "per precision")
        q = max(2, int(round(head_frac * values.size)))
        tail = values[-q:]
        # After a stage that diverged (or at the start) there is no previous end to compare with.
        head = previous_tail if previous_tail is not None and np.isfinite(previous_tail).all() else values[:q]
        previous_tail = tail
        if not (np.isfinite(head).all() and np.isfinite(values).all()):
            raw.append((int(bits), values.size, math.nan, math.nan, math.nan, math.nan))
            continue
        improvement = sign * (head.mean() - tail.mean())
        noise = math.sqrt(head.var(ddof=1) / head.size + tail.var(ddof=1) / q)
        raw.append((int(bits), values.size, float(head.mean()), float(tail.mean()),
                    float(improvement), noise))
    finite = [r[4] for r in raw if math.isfinite(r[4])]
    best = max(finite) if finite else math.nan
    stages = []
    for bits, steps, head_mean, tail_mean, improvement, noise in raw:
        works = (math.isfinite(improvement) and improvement > 0 and improvement > z * noise
                 and improvement >= min_frac * best)
        stages.append(StageScore(bits, steps, head_mean, tail_mean, improvement, noise, works))
    suggested = next((s.bits for s in stages if s.works), None)
    return RangeTestScore(tuple(stages), suggested, z, min_frac, head_frac, value_name)



def space_from_range_test(task: str, budget: str, min_bits: int, max_bits: int, grad_bits: int, *,
                          name: str | None = None, trials: int = 24,
                          concurrency: int = 2) -> dict[str, Any]:
    """A search space (the :mod:`cpt_search.space` file schema) seeded by a range test's result.

    Every shape dimension is searched; ``min_bits`` ranges from the suggested lower bound up to two
    bits above it (CPT takes the suggestion itself; the search may find a cheaper or safer one),
    ``max_bits`` is fixed at the static baseline's precision, the gradient bits are fixed, and the
    paper presets at the suggested bounds are enqueued as baselines. The mapping is validated with
    :func:`cpt_search.space.parse_space` before it is returned.

    Raises:
        ConfigError: ``min_bits >= max_bits`` (no cyclic range left to search).
    """
    from cpt_search.space import parse_space

    if min_bits >= max_bits:
        raise ConfigError(f"the suggested min_bits must be below max_bits, but got "
                          f"(min_bits={min_bits}, max_bits={max_bits})", key="--max-bits",
                          value=max_bits, fix="raise --max-bits: nothing below it trains well enough "
                                              "to cycle through")
    slug = task.replace("/", "_")
    document: dict[str, Any] = {
        "name": name or f"{slug}_from_range_test",
        "task": task,
        "budget": budget,
        "seeds": [0],
        "trials": int(trials),
        "concurrency": int(concurrency),
        "schedule": {
            "profile": {"choices": PROFILES.names()},  # every registered profile
            "form": {"choices": list(FORMS)},
            "flip": {"choices": list(FLIPS)},
            "num_cycles": {"low": 2, "high": 32, "log": True},
            "min_bits": {"low": int(min_bits), "high": int(min(min_bits + 2, max_bits - 1))},
            "max_bits": int(max_bits),
            "min_grad_bits": int(grad_bits),
        },
        "include_baselines": True,
        "baselines": {"min_bits": int(min_bits), "max_bits": int(max_bits), "num_cycles": 8,
                      "grad_bits": int(grad_bits)},
    }
    parse_space(document, where="range-test space")
    return document
