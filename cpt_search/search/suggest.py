"""From a search space to schedules: Optuna define-by-run suggestions (optimizer bridge).

:func:`suggest_schedule` is the define-by-run function of a search: it asks the trial for each
searched dimension of :class:`~cpt_search.space.SearchSpace` in a fixed order and builds the
:class:`~cpt_search.schedule.Schedule`. Conditional dimensions are asked only when they matter
(``flip`` for triangles of an asymmetric profile, ``warmup_bits`` when there is a warm-up,
``cooldown_bits`` when there is a cool-down, a
profile's shape constants for that profile), and the bit bounds are parametrised so every sample is valid.

Trial user attributes it sets (read by the runner, the tracking and the samplers' constraints):

``schedule``        ``Schedule.to_dict()`` of the schedule to train
``label``           its short name (``Schedule.label``; a baseline's preset name)
``relative_cost``   mean per-step cost vs FP32 over ``space.cost_steps`` steps (known before training)
``feasible``        whether it meets ``constraints.max_relative_cost`` (always true without one)
``constraint``      ``relative_cost - max_relative_cost`` (only with a constraint; > 0 = infeasible);
                    the same value is set as the Optuna trial constraint ``max_relative_cost``
                    (``Trial.set_constraint``), which Optuna 5's samplers and ``best_trials`` read

Baselines: :func:`enqueue_baselines` enqueues the space's baseline suite with user attrs
``schedule``, ``label``, ``baseline=True`` and, where the space can express them, the schedule's
parameters (``baseline_params``). :func:`suggest_schedule` returns an enqueued schedule unchanged and
replays only those parameters' suggestions (Optuna returns the enqueued values), so the baseline
trials carry the same parameters as sampled ones: samplers that model the intersection of parameters
(NSGA-II, GP, multivariate TPE) keep learning from every dimension. A numeric value outside the
declared range (static 8/8 in a ``min_bits: 2..6`` space) is stored as is; Optuna accepts it with a
warning, which is silenced here because it is expected.

Infeasible schedules (over the cost constraint) must never be trained. The protocol: the trainable
(or searcher) checks ``trial.user_attrs["feasible"]`` / :func:`is_feasible` and does not train; the
trial is told to Optuna as COMPLETE (with whatever values the runner reports for it) or PRUNED, not
FAIL, because samplers ignore failed trials: a COMPLETE infeasible trial is ranked by NSGA-II behind
every feasible one (constrained domination), TPE puts COMPLETE or PRUNED infeasible trials in its
"bad" group, GP models the constraint, and ``study.best_trials`` leaves infeasible trials out. The
constraint is on the trial from the moment it is suggested, so this holds whatever its state.
Baselines are comparison points: the runner may
train them even when infeasible; their ``constraint`` attr still marks them.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Mapping

from cpt_search.costs import summarize_schedule
from cpt_search.profiles import PROFILES, owner_of, shape_param_names
from cpt_search.schedule import Schedule
from cpt_search.space import Choices, Dim, Fixed, FloatRange, IntRange, SearchSpace

logger = logging.getLogger(__name__)

# The name of the trial constraint (``Trial.set_constraint``) a constrained space sets.
CONSTRAINT_KEY = "max_relative_cost"


def suggest_schedule(space: SearchSpace, trial: Any) -> Schedule:
    """Define-by-run: the schedule of ``trial`` (an ``optuna.Trial`` or anything with its methods).

    A trial carrying the user attr ``"schedule"`` (an enqueued baseline) returns that schedule,
    suggesting only the parameters recorded in ``"baseline_params"``. Every other trial suggests the
    searched dimensions. Either way the user attrs listed in the module docstring are set.
    """
    fixed = trial.user_attrs.get("schedule")
    if fixed is not None:
        schedule = Schedule.from_dict(fixed, where=f"trial {trial.number} user attr 'schedule'")
        replay = trial.user_attrs.get("baseline_params") or {}
        if replay:
            with warnings.catch_warnings():
                # Out-of-range enqueued values are expected for static baselines.
                warnings.filterwarnings("ignore", message=".*out of range.*")
                _ask(space, trial, only=replay)
        label = str(trial.user_attrs.get("label") or schedule.label)
    else:
        schedule = schedule_from_params(space, _ask(space, trial))
        label = schedule.label
    record_schedule(space, trial, schedule, label)
    return schedule


def record_schedule(space: SearchSpace, trial: Any, schedule: Schedule, label: str) -> None:
    """Set the trial's ``schedule``, ``label``, ``relative_cost``, ``feasible`` and ``constraint``."""
    relative_cost = relative_cost_of(space, schedule)
    trial.set_user_attr("schedule", schedule.to_dict())
    trial.set_user_attr("label", label)
    trial.set_user_attr("relative_cost", relative_cost)
    violation = constraint_violation(space, schedule, relative_cost=relative_cost)
    trial.set_user_attr("feasible", violation <= 0.0)
    if space.constraints.max_relative_cost is not None:
        trial.set_user_attr("constraint", violation)
        # Optuna 5's samplers and ``study.best_trials`` read constraints from the trial itself.
        trial.set_constraint(CONSTRAINT_KEY, violation)


def relative_cost_of(space: SearchSpace, schedule: Schedule, total_steps: int | None = None) -> float:
    """Mean per-step training cost of ``schedule`` vs FP32, over ``total_steps`` (default: the
    space's :attr:`~cpt_search.space.SearchSpace.cost_steps`)."""
    return float(summarize_schedule(schedule, total_steps or space.cost_steps).relative_cost)


def constraint_violation(space: SearchSpace, schedule: Schedule, *, total_steps: int | None = None,
                         relative_cost: float | None = None) -> float:
    """``relative_cost - max_relative_cost`` (> 0: infeasible); ``0.0`` when there is no constraint."""
    limit = space.constraints.max_relative_cost
    if limit is None:
        return 0.0
    if relative_cost is None:
        relative_cost = relative_cost_of(space, schedule, total_steps)
    return float(relative_cost - limit)


def is_feasible(space: SearchSpace, schedule: Schedule, total_steps: int | None = None) -> bool:
    """Whether ``schedule`` meets the space's constraints (pass the run's real ``total_steps`` when
    known; the default is the space's nominal step count)."""
    return constraint_violation(space, schedule, total_steps=total_steps) <= 0.0


def schedule_from_params(space: SearchSpace, params: Mapping[str, Any]) -> Schedule:
    """The schedule of a set of suggested parameters (searched dimensions) plus fixed dimensions."""
    values = _values(space, params)
    fields: dict[str, Any] = {
        name: values[name] for name in ("profile", "form", "flip", "num_cycles", "min_bits",
                                        "min_grad_bits", "warmup_frac", "warmup_bits",
                                        "cooldown_frac", "cooldown_bits")
    }
    fields["max_bits"] = _upper(values, "")
    fields["max_grad_bits"] = _upper(values, "grad_")
    if fields["warmup_frac"] == 0.0:
        fields["warmup_bits"] = None  # no warm-up: keep the schedule canonical (label, equality)
    if fields["cooldown_frac"] == 0.0:
        fields["cooldown_bits"] = None
    # The profile's own shape constants (the others were not asked and do not matter).
    own = PROFILES.get(fields["profile"]).params
    fields.update({key: values[key] for key in own if values.get(key) is not None})
    return Schedule.from_dict(fields)


def encode_schedule(space: SearchSpace, schedule: Schedule) -> tuple[dict[str, Any], list[str]]:
    """The parameters that make the space's suggestions reproduce ``schedule``.

    Returns ``(params, missing)``: ``params`` for every searched dimension the space can express
    (numbers may lie outside the declared range or integer grid; shape dimensions of a static
    schedule, which do not change it, take an in-space value), and the names of searched dimensions
    it cannot express (a value outside categorical choices of names or floats; a value <= 0 for a
    log range). Samplers sample a dimension missing from some finished trial independently.
    """
    static = schedule.is_static
    targets: dict[str, Any] = {
        "profile": schedule.profile, "form": schedule.form, "flip": schedule.flip,
        "num_cycles": schedule.num_cycles, "min_bits": schedule.min_bits,
        "bits_span": schedule.max_bits - schedule.min_bits, "max_bits": schedule.max_bits,
        "min_grad_bits": schedule.min_grad_bits,
        "grad_bits_span": schedule.max_grad_bits - schedule.min_grad_bits,
        "max_grad_bits": schedule.max_grad_bits, "warmup_frac": schedule.warmup_frac,
        "warmup_bits": schedule.warmup_bits, "cooldown_frac": schedule.cooldown_frac,
        "cooldown_bits": schedule.cooldown_bits, **schedule.shape_params,
    }
    for phase in ("warmup_bits", "cooldown_bits"):
        phase_dim = space.schedule[phase]
        if targets[phase] == schedule.max_bits and phase_dim is not None and phase_dim.contains(None):
            targets[phase] = None  # null means "max_bits" in a space
    dont_care = {"profile", "form", "flip", "num_cycles", *shape_param_names()} if static else set()
    params: dict[str, Any] = {}
    missing: list[str] = []
    current: dict[str, Any] = {}
    for name, dim in space.schedule.items():
        if not _asked(name, dim, current):
            current[name] = dim.value if isinstance(dim, Fixed) else None
            continue
        value = targets.get(name)
        if isinstance(dim, Fixed):
            current[name] = dim.value
            continue
        if not dim.contains(value) and name in dont_care:
            value = _nearest(dim, value)
        if isinstance(dim, Choices) and not dim.contains(value) and dim.int_grid() is None:
            missing.append(name)
        elif isinstance(dim, (IntRange, FloatRange)) and dim.log and (value is None or value <= 0):
            missing.append(name)
        else:
            params[name] = value
        current[name] = value
    return params, missing


def enqueue_baselines(study: Any, space: SearchSpace) -> list[str]:
    """Enqueue the space's baseline suite on ``study`` (an ``optuna.Study``); returns the labels.

    Call it once per search (not again on resume: the study keeps its waiting trials). Each trial
    gets user attrs ``schedule``, ``label``, ``baseline=True`` and ``baseline_params`` (see the
    module docstring); a baseline the space cannot fully express is logged.
    """
    labels = []
    outside: list[str] = []
    for label, schedule in space.baseline_schedules():
        params, missing = encode_schedule(space, schedule)
        if missing:
            outside.append(f"{label} ({', '.join(missing)})")
        study.enqueue_trial(params, user_attrs={"schedule": schedule.to_dict(), "label": label,
                                                "baseline": True, "baseline_params": params},
                            skip_if_exists=False)
        labels.append(label)
    if outside:
        logger.info("%d baselines lie outside the space's choices in some dimension: %s; "
                    "model-based samplers sample those dimensions independently",
                    len(outside), ", ".join(outside))
    return labels


# ---------------------------------------------------------------------- internals


def _asked(name: str, dim: Dim, current: Mapping[str, Any]) -> bool:
    """Whether dimension ``name`` is part of this trial, given the values chosen so far."""
    if name == "flip":
        profile = current.get("profile")
        return current.get("form") == "triangular" and isinstance(profile, str) and profile in PROFILES \
            and not PROFILES.get(profile).symmetric
    if name == "warmup_bits":
        return (current.get("warmup_frac") or 0.0) > 0.0
    if name == "cooldown_bits":
        return (current.get("cooldown_frac") or 0.0) > 0.0
    owner = owner_of(name)
    if owner is not None:  # a shape constant: asked only for the profile that takes it
        return current.get("profile") == owner.name
    return True


def _ask(space: SearchSpace, trial: Any, only: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Suggest the searched dimensions in order (or, with ``only``, just those names)."""
    params: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for name, dim in space.schedule.items():
        if isinstance(dim, Fixed) or not _asked(name, dim, current):
            current[name] = dim.value if isinstance(dim, Fixed) else None
            continue
        if only is not None:
            if name not in only:
                current[name] = None
                continue
        value = _suggest(trial, name, dim)
        params[name] = value
        current[name] = value
    return params


def _suggest(trial: Any, name: str, dim: Dim) -> Any:
    if isinstance(dim, Choices):
        grid = dim.int_grid()
        if grid is not None:
            return trial.suggest_int(name, grid[0], grid[1], step=grid[2])
        return trial.suggest_categorical(name, list(dim.values))
    if isinstance(dim, IntRange):
        return trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
    if isinstance(dim, FloatRange):
        return trial.suggest_float(name, dim.low, dim.high, step=dim.step, log=dim.log)
    raise AssertionError(f"not a searched dimension: {dim!r}")


def _values(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every dimension's value: suggested, fixed, or (when not asked) its fixed/first value."""
    values: dict[str, Any] = {}
    for name, dim in space.schedule.items():
        if name in params:
            values[name] = params[name]
        elif isinstance(dim, Fixed):
            values[name] = dim.value
        else:  # a conditional dimension that did not matter for this trial
            values[name] = _neutral(name, dim)
    for name in ("bits_span", "max_bits", "grad_bits_span", "max_grad_bits"):
        values.setdefault(name, None)
    return values


def _neutral(name: str, dim: Dim) -> Any:
    # What an unasked conditional dimension contributes: schedule defaults keep labels canonical.
    if name == "flip":
        return "vertical"
    if name in ("warmup_bits", "cooldown_bits") or owner_of(name) is not None:
        return None  # no warm-up (cool-down) bits; a shape constant of another profile is not used
    return _nearest(dim, None)


def _upper(values: Mapping[str, Any], prefix: str) -> int:
    span = values.get(f"{prefix}bits_span")
    if span is not None:
        return int(values[f"min_{prefix}bits"]) + int(span)
    return int(values[f"max_{prefix}bits"])


def _nearest(dim: Dim, value: Any) -> Any:
    """A value of ``dim`` for a dimension that does not matter: ``value`` clipped into range, or the
    first choice."""
    if isinstance(dim, Fixed):
        return dim.value
    if isinstance(dim, Choices):
        return dim.values[0]
    if value is None:
        return dim.low
    clipped = min(max(value, dim.low), dim.high)
    if isinstance(dim, IntRange):
        clipped = dim.low + ((int(clipped) - dim.low) // dim.step) * dim.step
    return clipped
