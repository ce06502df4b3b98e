"""The ten schedules of Better Schedules (Wolfe & Kyrillidis 2024) and the static baselines.

Only the name CR is the paper's; the other short names are ours: profile letter (Cosine, Linear,
Exp, Rex) + form (Repeated, Triangular) + flip for the profiles whose flips differ (Horizontal,
Vertical); the paper's Table 1 gives their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpt_search.bits import FULL_PRECISION_BITS
from cpt_search.profiles import PROFILES
from cpt_search.registry import Registry
from cpt_search.schedule import Schedule


@dataclass(frozen=True)
class PresetShape:
    """The shape half of a preset; bounds, cycles and warm-up come from the caller."""

    profile: str
    form: str
    flip: str = "vertical"  # cosine and linear triangles are the same either way


PRESETS: Registry[PresetShape] = Registry("preset")
for _name, _shape in {
    "CR": PresetShape("cosine", "repeated"),  # the original CPT schedule
    "CT": PresetShape("cosine", "triangular"),
    "LR": PresetShape("linear", "repeated"),
    "LT": PresetShape("linear", "triangular"),
    "ER": PresetShape("exp", "repeated"),
    "ETH": PresetShape("exp", "triangular", "horizontal"),
    "ETV": PresetShape("exp", "triangular", "vertical"),
    "RR": PresetShape("rex", "repeated"),
    "RTV": PresetShape("rex", "triangular", "vertical"),
    "RTH": PresetShape("rex", "triangular", "horizontal"),
}.items():
    PRESETS.register(_name, _shape)

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS.names())


def preset(
    name: str,
    *,
    min_bits: int = 3,
    max_bits: int = 8,
    num_cycles: int = 8,
    min_grad_bits: int = 8,
    max_grad_bits: int | None = None,
    warmup_frac: float = 0.0,
    warmup_bits: int | None = None,
    cooldown_frac: float = 0.0,
    cooldown_bits: int | None = None,
) -> Schedule:
    """The preset ``name`` (e.g. ``"CR"``) with the given bounds, cycles, warm-up and cool-down.

    ``max_grad_bits`` defaults to ``min_grad_bits``: both papers hold the gradient precision constant.
    """
    shape = PRESETS.get(name, key="preset")
    return Schedule(
        profile=shape.profile,
        form=shape.form,
        flip=shape.flip,
        num_cycles=num_cycles,
        min_bits=min_bits,
        max_bits=max_bits,
        min_grad_bits=min_grad_bits,
        max_grad_bits=min_grad_bits if max_grad_bits is None else max_grad_bits,
        warmup_frac=warmup_frac,
        warmup_bits=warmup_bits,
        cooldown_frac=cooldown_frac,
        cooldown_bits=cooldown_bits,
    )


def preset_name(schedule: Schedule) -> str | None:
    """The preset whose shape ``schedule`` has, or ``None`` (static schedules have none)."""
    if schedule.is_static:
        return None
    for name in PRESET_NAMES:
        shape = PRESETS.get(name)
        if (shape.profile, shape.form) != (schedule.profile, schedule.form):
            continue
        # A flip only matters for triangles whose two reflections differ.
        if schedule.form == "repeated" or PROFILES.get(schedule.profile).symmetric \
                or shape.flip == schedule.flip:
            return name
    return None


def static(bits: int, grad_bits: int | None = None) -> Schedule:
    """The static baseline ``bits/grad_bits`` (``grad_bits`` defaults to ``bits``)."""
    grad_bits = bits if grad_bits is None else grad_bits
    return Schedule(num_cycles=1, min_bits=bits, max_bits=bits,
                    min_grad_bits=grad_bits, max_grad_bits=grad_bits)


def full_precision() -> Schedule:
    """Full precision training, 32/32."""
    return static(FULL_PRECISION_BITS, FULL_PRECISION_BITS)


def baseline_schedules(max_bits: int, grad_bits: int, *, include_fp32: bool = True) -> list[Schedule]:
    """Static baselines a search or reproduction is compared against.

    Static ``max_bits/grad_bits``, static 8/8 when different, and (optionally) FP32, without duplicates.
    """
    candidates = [static(max_bits, grad_bits), static(8, 8)]
    if include_fp32:
        candidates.append(full_precision())
    unique: list[Schedule] = []
    for schedule in candidates:
        if schedule not in unique:
            unique.append(schedule)
    return unique
