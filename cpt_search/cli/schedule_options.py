"""The schedule flags shared by ``cpt-search schedule`` and ``cpt-search train``.

A schedule comes from exactly one source: an exported file (``--schedule-file``), a preset
(``--preset``, optionally with bounds, cycles, warm-up and cool-down), or explicit shape flags (``--profile``,
``--form``, ``--flip``, ...). With none of them, the original CPT schedule (CR 3-8/8, 8 cycles) is used.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.schedule import Schedule

# Schedule field -> its CLI flag, so an error raised by the schedule names what the user typed.
FIELD_FLAGS: dict[str, str] = {
    "profile": "--profile",
    "form": "--form",
    "flip": "--flip",
    "num_cycles": "--cycles",
    "min_bits": "--min-bits",
    "max_bits": "--max-bits",
    "min_grad_bits": "--min-grad-bits",
    "max_grad_bits": "--max-grad-bits",
    "warmup_frac": "--warmup-frac",
    "warmup_bits": "--warmup-bits",
    "cooldown_frac": "--cooldown-frac",
    "cooldown_bits": "--cooldown-bits",
}
_SHAPE_FIELDS = ("profile", "form", "flip")
_PRESET_ARGS = ("num_cycles", "min_bits", "max_bits", "min_grad_bits", "max_grad_bits",
                "warmup_frac", "warmup_bits", "cooldown_frac", "cooldown_bits")


def schedule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the schedule flags to a click command (all default to ``None`` = not given)."""
    options = [
        click.option("--schedule-file", type=click.Path(dir_okay=False),
                     help="A schedule exported by 'cpt-search export'."),
        click.option("--preset", help="A Better Schedules preset: CR CT LR LT ER ETH ETV RR RTV RTH."),
        click.option("--profile", help="Growth profile: a registered name (an unknown one lists them all)."),
        click.option("--form", help="repeated (saw-tooth) or triangular."),
        click.option("--flip", help="Triangle decay half: vertical or horizontal."),
        click.option("--cycles", "num_cycles", type=int, help="Number of periods n [default: 8]."),
        click.option("--min-bits", type=int, help="Lowest forward bits [default: 3]."),
        click.option("--max-bits", type=int, help="Highest forward bits [default: 8]."),
        click.option("--min-grad-bits", type=int, help="Lowest gradient bits [default: 8]."),
        click.option("--max-grad-bits", type=int,
                     help="Highest gradient bits [default: --min-grad-bits]."),
        click.option("--warmup-frac", type=float,
                     help="Fraction of training at --warmup-bits before cycling [default: 0]."),
        click.option("--warmup-bits", type=int,
                     help="Forward bits during warm-up; 32 = full precision [default: --max-bits]."),
        click.option("--cooldown-frac", type=float,
                     help="Fraction of training at --cooldown-bits after cycling [default: 0]."),
        click.option("--cooldown-bits", type=int,
                     help="Forward bits during cool-down; 32 = full precision [default: --max-bits]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def pop_schedule_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove the schedule flags from a command's kwargs and return them."""
    names = ("schedule_file", "preset", *FIELD_FLAGS)
    return {name: kwargs.pop(name, None) for name in names}


def schedule_from_options(options: dict[str, Any]) -> Schedule:
    """Build the schedule the flags describe; errors name the flag, the value and the fix."""
    given = {name: value for name, value in options.items() if value is not None}
    if "schedule_file" in given:
        others = [FIELD_FLAGS.get(name, "--preset") for name in given if name != "schedule_file"]
        if others:
            raise ConfigError("--schedule-file cannot be combined with other schedule flags",
                              key=others[0], fix="drop it, or edit the schedule file instead")
        from cpt_search.export import load_schedule

        return load_schedule(given["schedule_file"])
    try:
        if "preset" in given or not any(name in given for name in _SHAPE_FIELDS):
            shape_flags = [FIELD_FLAGS[name] for name in _SHAPE_FIELDS if name in given]
            if shape_flags:
                raise ConfigError("--preset fixes the shape", key=shape_flags[0],
                                  fix="use either --preset or --profile/--form/--flip")
            from cpt_search.presets import preset

            kwargs = {name: given[name] for name in _PRESET_ARGS if name in given}
            try:
                return preset(given.get("preset", "CR"), **kwargs)
            except CptSearchError as error:
                if error.key == "preset":
                    raise error.with_context(key="--preset") from None
                raise
        return Schedule(**{name: given[name] for name in FIELD_FLAGS if name in given})
    except CptSearchError as error:
        flag = FIELD_FLAGS.get(error.key or "")
        raise (error.with_context(key=flag) if flag else error) from None


def with_schedule(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: add the flags and pass the built ``schedule`` to the command instead."""

    @schedule_options
    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        kwargs["schedule"] = schedule_from_options(pop_schedule_options(kwargs))
        return command(**kwargs)

    return wrapper
