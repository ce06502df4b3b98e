"""Parsing the ``schedule`` section of a space file into a :class:`ScheduleSpace`.

Every sample of a valid space is a valid schedule: the bit bounds are parametrised so that
``min <= max <= 32`` always holds, which is checked here once rather than rejected per trial.
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping, cast

from cpt_search.bits import FULL_PRECISION_BITS
from cpt_search.space.dimensions import (
    _PAIRS,
    Choices,
    Dim,
    Fixed,
    FloatRange,
    IntRange,
    ScheduleSpace,
    _Rule,
    rules,
)
from cpt_search.space.problems import _Context, _short, _suggest_fix


def _parse_schedule(ctx: _Context, raw: Mapping[str, Any]) -> ScheduleSpace:
    dims: dict[str, Dim | None] = {}
    table = rules()
    for key in raw:
        if key not in table:
            raise ctx.error("unknown schedule dimension", ("schedule", key), fix=_suggest_fix(
                str(key), list(table), what="dimension"))
    for first, second in _PAIRS:
        if first in raw and second in raw:
            raise ctx.error(f"give {first} or {second}, not both", ("schedule", second),
                            raw[second], f"remove '{second}' (max = min + span) or '{first}'")
    for name, rule in table.items():
        if name in raw:
            dims[name] = _parse_dim(ctx, name, rule, raw[name])
        elif rule.default is not None or rule.nullable:
            dims[name] = Fixed(rule.default)
        else:
            dims[name] = None
    # Defaults of the pairs: max_bits 8 unless a span is given; gradient bits constant (span 0).
    if dims["bits_span"] is not None:
        dims["max_bits"] = None
    if dims["grad_bits_span"] is None and dims["max_grad_bits"] is None:
        dims["grad_bits_span"] = Fixed(0)
    space = ScheduleSpace(dims)
    _check_bounds(ctx, space, "")
    _check_bounds(ctx, space, "grad_")
    return space


def _parse_dim(ctx: _Context, name: str, rule: _Rule, spec: Any) -> Dim:
    path = ("schedule", name)
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, Mapping):
        problem = rule.check(spec)
        if problem:
            raise ctx.error(f"{name} {problem}", path, spec, _rule_fix(rule))
        return Fixed(_normalise(rule, spec))
    keys = set(spec)
    if "choices" in keys:
        if keys != {"choices"}:
            extra = sorted(keys - {"choices"})[0]
            raise ctx.error("choices take no other keys", path + (extra,), spec[extra],
                            "use either {choices: [...]} or {low, high, log, step}")
        return _parse_choices(ctx, name, rule, spec["choices"])
    if rule.kind == "name":
        raise ctx.error(f"{name} is categorical: give a value or a list of choices", path,
                        _short(dict(spec)), f"use e.g. '{name}: [{', '.join(rule.names)}]'")
    allowed = {"low", "high", "log", "step"}
    for key in spec:
        if key not in allowed:
            raise ctx.error("unknown key of a range", path + (str(key),), spec[key],
                            _suggest_fix(str(key), sorted(allowed | {"choices"}), what="key"))
    for key in ("low", "high"):
        if key not in spec:
            raise ctx.error("a range needs both low and high", path, _short(dict(spec)),
                            f"add '{key}:' (bounds are inclusive)")
        problem = rule.check(spec[key])
        if problem:
            raise ctx.error(f"{name} {problem}", path + (key,), spec[key], _rule_fix(rule))
    low, high = _normalise(rule, spec["low"]), _normalise(rule, spec["high"])
    if low > high:
        raise ctx.error(f"low <= high must hold, but got (low={low}, high={high})", path + ("low",),
                        low, "swap the bounds (both are inclusive)")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ctx.error("log must be true or false", path + ("log",), log, "use true or false")
    if log and low <= 0:
        raise ctx.error("a log range needs low > 0", path + ("low",), low,
                        "raise low or drop 'log: true'")
    step = spec.get("step")
    if step is not None:
        integral = rule.kind == "int"
        if isinstance(step, bool) or not isinstance(step, numbers.Real) or step <= 0 or (
                integral and not isinstance(step, numbers.Integral)):
            raise ctx.error("step must be a positive " + ("integer" if integral else "number"),
                            path + ("step",), step, "use e.g. step: 1" if integral else "use e.g. 0.05")
        if log:
            raise ctx.error("log and step cannot be combined", path + ("step",), step,
                            "drop one of them (Optuna does not support both)")
    if rule.kind == "int":
        step = 1 if step is None else int(cast(int, step))  # a positive Integral (checked above)
        if (high - low) % step:
            raise ctx.error(f"high - low must be a multiple of step, but got (low={low}, "
                            f"high={high}, step={step})", path + ("step",), step,
                            "change step or the bounds so that high is on the grid")
        return IntRange(int(low), int(high), log=log, step=step)
    return FloatRange(float(low), float(high), log=log, step=None if step is None else float(step))


def _parse_choices(ctx: _Context, name: str, rule: _Rule, choices: Any) -> Choices:
    path = ("schedule", name, "choices")
    if not isinstance(choices, list) or not choices:
        raise ctx.error("choices must be a non-empty list", path, _short(choices),
                        f"use e.g. '{name}: [{_example(rule)}]'")
    values = []
    for index, value in enumerate(choices):
        problem = rule.check(value)
        if problem:
            raise ctx.error(f"{name} {problem}", path + (index,), value, _rule_fix(rule))
        value = _normalise(rule, value)
        if value in values:
            raise ctx.error("choices must be unique", path + (index,), value, "remove the repeat")
        values.append(value)
    return Choices(tuple(values))


def _normalise(rule: _Rule, value: Any) -> Any:
    if value is None or rule.kind == "name":
        return value
    return int(value) if rule.kind == "int" else float(value)


def _rule_fix(rule: _Rule) -> str:
    if rule.kind == "name":
        return _suggest_fix("", rule.names, what="value").replace("known values", "use one of")
    null = " or null" if rule.nullable else ""
    return f"use {'an integer' if rule.kind == 'int' else 'a number'} in {rule.range_text()}{null}"


def _example(rule: _Rule) -> str:
    return ", ".join(rule.names) if rule.kind == "name" else f"{rule.default}"


def _check_bounds(ctx: _Context, space: ScheduleSpace, prefix: str) -> None:
    """Every sample must satisfy ``min <= max <= 32``: check the extremes once."""
    low_name, span_name, high_name = f"min_{prefix}bits", f"{prefix}bits_span", f"max_{prefix}bits"
    low, span, high = space[low_name], space[span_name], space[high_name]
    if low is None or (span is None and high is None):
        raise KeyError(f"{low_name} with {span_name} or {high_name}")  # the parser always sets them
    lowest_min, highest_min = low.bounds()
    if span is not None:
        highest = highest_min + span.bounds()[1]
        if highest > FULL_PRECISION_BITS:
            raise ctx.error(f"{low_name} + {span_name} can exceed {FULL_PRECISION_BITS} bits "
                            f"(up to {highest})", ("schedule", span_name), span.to_yaml(),
                            f"lower the highest {span_name} to {FULL_PRECISION_BITS - highest_min}")
        return
    assert high is not None
    lowest_max = high.bounds()[0]
    if highest_min > lowest_max:
        raise ctx.error(f"every {low_name} must be <= every {high_name}, but {low_name} reaches "
                        f"{highest_min} and {high_name} starts at {lowest_max}",
                        ("schedule", high_name), high.to_yaml(),
                        f"search {span_name} instead (max = min + span), or separate the ranges")
