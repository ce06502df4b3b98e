"""The validated, fully resolved search space (:class:`SearchSpace`).

A space holds no Optuna objects: :mod:`cpt_search.search.suggest` turns it into suggestions and
:mod:`cpt_search.search.samplers` into a sampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from cpt_search.presets import PRESET_NAMES, baseline_schedules, preset, static
from cpt_search.schedule import Schedule
from cpt_search.space.dimensions import ScheduleSpace
from cpt_search.space.sections import Confirm, Constraints, Objective, Resources, SamplerSpec
from cpt_search.stopping import StoppingSpec
from cpt_search.tasks.function import budget_label

# Relative cost is a property of the schedule over the run's steps; the exact step count is only
# known once a task's data is loaded, so costs before training use this many steps. Rounding of
# period boundaries makes the difference small (docs/method.md §1 quotes <= 0.001 for such changes).
NOMINAL_TOTAL_STEPS = 10_000


@dataclass(frozen=True)
class SearchSpace:
    """A validated, fully resolved search space.

    Attributes:
        name: the search's name (default: the file stem); names the Optuna study and MLflow run.
        task, budget: what each trial trains (``cpt_search.tasks``); ``budget`` is a budget name,
            or for a training function a mapping of knobs passed through to it.
        seeds: seeds each trial's schedule is trained with.
        num_trials: trials the sampler proposes; baselines come on top (:attr:`total_trials`).
        concurrency: trials running at once.
        resources: CPUs and GPUs reserved per trial.
        objective: the metric's name and direction (BitOPs are minimised).
        sampler: the Optuna sampler's name, seed and options.
        constraints: ``max_relative_cost`` (vs FP32) or ``None``.
        include_baselines: enqueue the paper presets and static baselines first.
        baseline: bounds of the enqueued presets: ``min_bits, max_bits, num_cycles, grad_bits``.
        schedule: the schedule dimensions.
        source: the file the space came from (for messages).
        cost_steps: steps used for costs known before training: the task's exact step count when
            its metadata tells, else :data:`NOMINAL_TOTAL_STEPS`.
        code_dirs: folders the space's import strings (``task: module:attribute``) resolve in: the
            space file's own folder, then :attr:`code`; what a Ray cluster's workers are sent.
        code: the extra folders of the ``code:`` key, absolute (the file gives them relative to itself).
        confirm: the ``confirm:`` section (seed confirmation of the front after the search), or ``None``;
            :meth:`confirm_settings` resolves it.
        stopping: the ``scheduler:`` section: the early-stopping rule and its options (default
            ``fifo``: every trial trains to the end).
    """

    name: str
    task: str
    budget: str | Mapping[str, Any]
    seeds: tuple[int, ...]
    num_trials: int
    concurrency: int
    resources: Resources
    objective: Objective
    sampler: SamplerSpec
    constraints: Constraints
    include_baselines: bool
    baseline: Mapping[str, int]
    schedule: ScheduleSpace
    source: str = "<string>"
    cost_steps: int = NOMINAL_TOTAL_STEPS
    code_dirs: tuple[str, ...] = ()
    confirm: Confirm | None = None
    stopping: StoppingSpec = StoppingSpec()
    code: tuple[str, ...] = ()

    def confirm_settings(self) -> Any:
        """The :class:`cpt_search.confirm.ConfirmSettings` of the ``confirm:`` section (``None`` without one)."""
        if self.confirm is None:
            return None
        from cpt_search.confirm import ConfirmSettings
        from cpt_search.space.sections import DEFAULT_CONFIRM_SEEDS

        seeds = self.confirm.seeds
        if seeds is None:
            seeds = [max(self.seeds) + 1 + k for k in range(DEFAULT_CONFIRM_SEEDS)]
        fields = self.confirm.model_dump(exclude={"seeds"})
        return ConfirmSettings(seeds=tuple(seeds), **fields)

    @property
    def direction(self) -> str:
        """The metric's direction (``"maximize"`` or ``"minimize"``)."""
        return self.objective.direction or "maximize"

    @property
    def directions(self) -> tuple[str, str]:
        """Optuna directions of ``(metric, bitops)``."""
        return self.direction, "minimize"

    @property
    def total_trials(self) -> int:
        """``num_trials`` plus the enqueued baselines."""
        return self.num_trials + (len(self.baseline_schedules()) if self.include_baselines else 0)

    def baseline_schedules(self) -> list[tuple[str, Schedule]]:
        """The comparison suite: the ten paper presets at :attr:`baseline` bounds, then static
        ``max_bits/grad_bits``, static 8/8 (if different) and FP32; labels and schedules unique."""
        b = self.baseline
        suite = [(name, preset(name, min_bits=b["min_bits"], max_bits=b["max_bits"],
                               num_cycles=b["num_cycles"], min_grad_bits=b["grad_bits"]))
                 for name in PRESET_NAMES]
        suite += [(s.label, s) for s in baseline_schedules(b["max_bits"], b["grad_bits"])]
        # A preset with equal bounds is a static schedule whatever its shape: name it as one.
        suite = [(s.label, static(s.max_bits, s.max_grad_bits)) if s.is_static else (label, s)
                 for label, s in suite]
        unique: list[tuple[str, Schedule]] = []
        for label, schedule in suite:
            if all(schedule != other for _, other in unique):
                unique.append((label, schedule))
        return unique

    def resolved(self) -> dict[str, Any]:
        """The fully resolved space as plain data in the file schema (``parse_space`` of it gives
        the same space back); logged to MLflow as YAML."""
        return {
            "name": self.name,
            "task": self.task,
            "budget": self.budget if isinstance(self.budget, str) else dict(self.budget),
            "seeds": list(self.seeds),
            "trials": self.num_trials,
            "concurrency": self.concurrency,
            "resources": self.resources.model_dump(),
            "objective": self.objective.model_dump(),
            "sampler": self.sampler.model_dump(),
            "schedule": self.schedule.to_yaml(),
            "constraints": self.constraints.model_dump(),
            "include_baselines": self.include_baselines,
            "baselines": dict(self.baseline),
            **({} if self.confirm is None else {"confirm": self.confirm.model_dump()}),
            **({} if self.stopping.is_default else {"scheduler": self.stopping.to_yaml()}),
            **({"code": list(self.code)} if self.code else {}),
        }

    def to_yaml(self) -> str:
        """:meth:`resolved` as YAML text."""
        return yaml.safe_dump(self.resolved(), sort_keys=False)

    def describe(self) -> str:
        """The resolved space, human readable (``cpt-search validate``)."""
        metric = self.objective.metric or "metric"
        lines = [
            f"search space {self.name!r} ({self.source})",
            f"  task       {self.task}, budget {budget_label(self.budget)}, seeds {list(self.seeds)}",
            f"  objectives {metric} ({self.direction}), training BitOPs (minimize)",
            f"  trials     {self.num_trials} sampled"
            + (f" + {len(self.baseline_schedules())} baselines" if self.include_baselines else "")
            + f", {self.concurrency} at once, {self.resources.cpus:g} CPU"
              f" + {self.resources.gpus:g} GPU per trial",
            f"  sampler    {self.sampler.name}, seed {self.sampler.seed}"
            + (f", options {self.sampler.options}" if self.sampler.options else ""),
        ]
        if self.constraints.max_relative_cost is not None:
            lines.append(f"  constraint relative cost <= {self.constraints.max_relative_cost:g} of FP32"
                         " (infeasible schedules are not trained)")
        if not self.stopping.is_default:
            lines.append(f"  stopping   {self.stopping.describe()}")
        settings = self.confirm_settings()
        if settings is not None:
            lines.append(f"  confirm    the front on seeds {list(settings.seeds)}, at most "
                         f"{settings.max_trainings} extra trainings (alpha {settings.alpha:g})")
        searched = self.schedule.searched()
        lines.append("  searched:" if searched else "  searched:   nothing (every dimension fixed)")
        for name, dim in searched.items():
            note = _condition(name)
            lines.append(f"    {name:<15} {dim.text()}{note}")
        lines.append("  fixed:")
        for name, dim in self.schedule.items():
            if not dim.searched:
                lines.append(f"    {name:<15} {dim.text()}")
        low, high = self.schedule.bits_range()
        glow, ghigh = self.schedule.bits_range("grad_")
        lines.append(f"  bits       forward {low}..{high}, gradient {glow}..{ghigh}")
        if self.include_baselines:
            labels = ", ".join(label for label, _ in self.baseline_schedules())
            lines.append(f"  baselines  {labels}")
        return "\n".join(lines)


def _condition(name: str) -> str:
    """When a conditional dimension is asked, for ``describe()`` (from the profile registry)."""
    from cpt_search.profiles import PROFILES, owner_of

    if name == "flip":
        asym = [n for n in PROFILES if not PROFILES.get(n).symmetric]
        return f"  (only for triangular {'/'.join(asym)})"
    if name == "warmup_bits":
        return "  (only when warmup_frac > 0)"
    if name == "cooldown_bits":
        return "  (only when cooldown_frac > 0)"
    owner = owner_of(name)
    return f"  (only for profile {owner.name})" if owner is not None else ""


__all__ = ["NOMINAL_TOTAL_STEPS", "SearchSpace"]
