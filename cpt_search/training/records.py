"""The values a trial takes and gives: :class:`TrialSpec`, :class:`EpochRecord`, :class:`TrialResult`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from cpt_search.errors import ConfigError
from cpt_search.schedule import BitSchedule


@dataclass(frozen=True, kw_only=True)
class TrialSpec:
    """Everything that determines one training run (keyword-only).

    Attributes:
        task: a name in :data:`cpt_search.tasks.TASKS`, or a ``module:attribute`` import string.
        budget: a budget name of the task (``"tiny"``, ``"default"``, ``"paper"``); a training
            function also takes a mapping of knobs, passed through as ``ctx.budget``.
        schedule: the precision schedule to train under: a :class:`~cpt_search.schedule.Schedule`,
            or any :class:`~cpt_search.schedule.BitSchedule` such as a piecewise schedule.
        seed: seeds initialisation, batch order, dropout and stochastic rounding.
        data_dir: a data root (see :mod:`cpt_search.data`); ``None`` = ``$CPT_SEARCH_DATA`` / defaults.
        download: allow the standard dataset download when files are missing.
        cache_dir: prepared-data cache; ``None`` = ``$CPT_SEARCH_CACHE`` or ``~/.cache/cpt_search``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks CUDA when available.
        threads: ``torch.set_num_threads`` for this process (Ray gives each trial N CPUs).
        budget_overrides: budget fields to replace, e.g. ``{"epochs": 1, "lr": 0.01}``.
    """

    task: str
    budget: str | Mapping[str, Any] = "default"
    schedule: BitSchedule
    seed: int = 0
    data_dir: str | None = None
    download: bool = False
    cache_dir: str | None = None
    device: str | None = None
    threads: int | None = None
    budget_overrides: Mapping[str, Any] | tuple[tuple[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, BitSchedule):
            raise ConfigError("schedule must be a Schedule or another BitSchedule", where="TrialSpec",
                              key="schedule", value=type(self.schedule).__name__,
                              fix="build one with cpt_search.preset(...) or Schedule.from_dict(...)")
        for key, low in (("seed", 0), ("threads", 1)):
            value = getattr(self, key)
            if value is None and key == "threads":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} must be an integer >= {low}", where="TrialSpec", key=key,
                                  value=value, fix=f"use a whole number >= {low}")
        # Stored as sorted pairs so that the spec stays hashable and compares by content.
        overrides = self.budget_overrides
        if overrides is not None:
            pairs = tuple(sorted(dict(overrides).items()))
            object.__setattr__(self, "budget_overrides", pairs or None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (the schedule as its dict); inverse of :meth:`from_dict`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["schedule"] = self.schedule.to_dict()
        data["budget_overrides"] = dict(self.budget_overrides) if self.budget_overrides else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str | None = None) -> "TrialSpec":
        """Build a spec from :meth:`to_dict` output; unknown keys are a :class:`ConfigError`."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in data if key not in names]
        if unknown:
            raise ConfigError("unknown trial parameter", where=where, key=str(unknown[0]),
                              fix=f"use keys from: {', '.join(names)}")
        fields = dict(data)
        schedule = fields.get("schedule")
        if not isinstance(schedule, BitSchedule):
            from cpt_search.piecewise import schedule_from_any_dict

            fields["schedule"] = schedule_from_any_dict(schedule or {}, where=where)
        return cls(**fields)


@dataclass(frozen=True)
class EpochRecord:
    """Progress after an evaluated epoch (every ``budget.eval_every`` epochs and the last).

    Attributes:
        epoch: 1-based epoch number.
        step: optimizer steps done so far.
        loss: mean training loss over the epochs since the previous record.
        metric: the task's validation metric after the epoch (the search objective).
        accuracy: validation accuracy after the epoch (``None`` for the language model).
        mean_bits_so_far: mean forward bits over the steps trained so far.
        bitops_so_far: training bit operations so far (per-layer accounting).
        seconds: wall time since the trial started.
        test_metric: the metric on the test split (``None``: the task has none); never selects.
        total_steps: optimizer steps of the whole training (``step / total_steps`` is the fraction
            trained, which early stopping's rungs are placed at; 0 when unknown).
    """

    epoch: int
    step: int
    loss: float
    metric: float
    accuracy: float | None
    mean_bits_so_far: float
    bitops_so_far: float
    seconds: float
    test_metric: float | None = None
    total_steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrialResult:
    """The outcome of one trial; :meth:`to_dict` is JSON-safe.

    Attributes:
        metric, metric_name, higher_is_better: the task's final validation metric (the search
            objective) and its direction.
        accuracy: final validation accuracy, ``None`` for the language model.
        bitops: training bit operations, per-layer (FP32 layers at 32/32), from the bits used.
        paper_bitops: the papers' figure (every layer at the scheduled bits).
        fp32_bitops: the same training in full precision.
        relative_cost, relative_cost_vs_8_8: mean per-step cost vs FP32 and vs static 8/8.
        mean_bits, mean_grad_bits: over the steps actually trained.
        total_steps: optimizer steps trained.
        seconds: wall time of the whole trial (data, model, training, evaluations).
        device: where it ran.
        bit_runs: the ``(bits, grad_bits, steps)`` runs the quantized layers actually used, in order
            (run-length encoded, so it stays short for long trainings).
        epochs: one record per evaluated epoch.
        schedule: the schedule's dict; ``schedule_label`` its short name.
        quant_kernels: the quantizer kernels that ran (:attr:`cpt_search.quant.QuantHandle.kernels`).
        test_metric, test_metric_name: the final metric on the test split, reported apart and never
            used to select (``None``: the task has no test split).
        phase_seconds: where ``seconds`` went: ``import`` (torch and the task's module, paid by a
            fresh process), ``data`` (reading the dataset), ``build`` (model, quantizing, counting
            MACs, optimizer), ``train`` (the steps and evaluations); empty for a training function,
            whose loop is the user's. docs/performance.md, "Per-trial overhead".
    """

    task: str
    budget: str
    seed: int
    metric: float
    metric_name: str
    higher_is_better: bool
    accuracy: float | None
    bitops: float
    paper_bitops: float
    fp32_bitops: float
    relative_cost: float
    relative_cost_vs_8_8: float
    mean_bits: float
    mean_grad_bits: float
    total_steps: int
    seconds: float
    device: str
    bit_runs: tuple[tuple[int, int, int], ...]
    epochs: tuple[EpochRecord, ...]
    schedule: dict
    schedule_label: str
    quant_kernels: str = "eager"
    test_metric: float | None = None
    test_metric_name: str | None = None
    phase_seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self, *, with_epochs: bool = True) -> dict[str, Any]:
        """Plain JSON-safe values; ``with_epochs=False`` drops the per-epoch list."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["schedule"] = dict(self.schedule)
        data["bit_runs"] = [list(run) for run in self.bit_runs]
        data["phase_seconds"] = dict(self.phase_seconds)
        if with_epochs:
            data["epochs"] = [record.to_dict() for record in self.epochs]
        else:
            del data["epochs"]
        return data
