"""The MLflow metric names of a search's runs: one name per quantity, curves and summaries alike.

MLflow keeps a metric's whole history and shows its latest value in the runs table. So an epoch curve
and the trial's final value of the same quantity share one name: ``val_accuracy`` is logged after
every evaluated epoch (step = epoch) and once more, as the mean over seeds, at the last evaluated epoch
(:func:`summary_step`), so the table shows the final value and the chart the curve on one step axis.
A quantity the objective already names is not logged twice (a classification task's ``accuracy`` is
its validation accuracy, the objective ``val_accuracy``). Curves of a multi-seed trial carry
``_seedN``; the summary is the mean over seeds.

Confirmed values (a seed confirmation, docs/confirmation.md) are their own quantities:
``{metric}_confirmed`` (the seed-adjusted mean the confirmed front ranks by), ``{metric}_seed_mean``
and ``{metric}_seed_std`` (plain mean and std over every seed trained), ``{metric}_ci_low``/``_ci_high``
(95 % Student t interval of that mean), ``n_seeds`` and ``p_front`` (bootstrap probability of being
non-dominated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

# Where a trial's final report and its epoch reports keep each quantity, and the name it gets.
TRAIN_LOSS = "train_loss"
COST_METRICS = ("bitops", "relative_cost", "relative_cost_vs_8_8", "paper_bitops", "fp32_bitops")
_SUMMARY = {"paper_bitops": "paper_bitops", "fp32_bitops": "fp32_bitops", "relative_cost": "relative_cost",
            "relative_cost_vs_8_8": "relative_cost_vs_8_8", "mean_bits": "mean_bits",
            "mean_grad_bits": "mean_grad_bits", "total_steps": "total_steps",
            "seconds": "train_seconds", "trial_seconds": "trial_seconds"}
_EPOCH = {"loss": TRAIN_LOSS, "mean_bits_so_far": "mean_bits", "bitops_so_far": "bitops",
          "seconds": "train_seconds"}
VALIDATION_ACCURACY = "val_accuracy"


@dataclass(frozen=True)
class MetricNames:
    """The metric names of one search's child runs.

    Attributes:
        metric: the objective (the task's validation metric, e.g. ``val_accuracy``).
        test_metric: the task's test metric (``None``: the task has none).
    """

    metric: str
    test_metric: str | None = None

    @property
    def accuracy(self) -> str | None:
        """The name of the task's validation accuracy, ``None`` when the objective already is it."""
        return None if self.metric == VALIDATION_ACCURACY else VALIDATION_ACCURACY

    def epoch_keys(self) -> dict[str, str]:
        """Epoch report key -> metric name (the trainable's ``kind="epoch"`` reports)."""
        keys = {"epoch_metric": self.metric, **_EPOCH}
        if self.test_metric:
            keys["epoch_test_metric"] = self.test_metric
        if self.accuracy:
            keys["epoch_accuracy"] = self.accuracy
        return keys

    def final_values(self, values: tuple[float, float], result: Mapping[str, Any]) -> dict[str, float]:
        """The summary metrics of a complete trial: the objectives ``values`` and its result's numbers.

        A standard deviation over seeds is logged only when the trial trained more than one seed (the
        population std of one seed is 0, which would read as "no noise").
        """
        out = {self.metric: float(values[0]), "bitops": float(values[1])}
        several = int(result.get("seeds", 1) or 1) > 1
        if several and _finite(result.get("metric_std")):
            out[f"{self.metric}_std"] = float(result["metric_std"])
        if self.accuracy and _finite(result.get("accuracy")):
            out[self.accuracy] = float(result["accuracy"])
        if self.test_metric and _finite(result.get("test_metric")):
            out[self.test_metric] = float(result["test_metric"])
            if several and _finite(result.get("test_metric_std")):
                out[f"{self.test_metric}_std"] = float(result["test_metric_std"])
        for key, name in _SUMMARY.items():
            if _finite(result.get(key)) and name not in out:
                out[name] = float(result[key])
        return out

    def confirmed(self, extra: Mapping[str, Any], adjusted_mean: float) -> dict[str, float]:
        """The confirmed values of one candidate (its :data:`~cpt_search.records.confirmed.CONFIRM_FIELDS`)."""
        out = {f"{self.metric}_confirmed": float(adjusted_mean)}
        for key, name in (("mean", f"{self.metric}_seed_mean"), ("std", f"{self.metric}_seed_std"),
                          ("ci_low", f"{self.metric}_ci_low"), ("ci_high", f"{self.metric}_ci_high"),
                          ("n_seeds", "n_seeds"), ("p_front", "p_front")):
            if _finite(extra.get(key)):
                out[name] = float(extra[key])
        return out


def summary_step(result: Mapping[str, Any]) -> int:
    """The step a trial's summary metrics are logged at: its last evaluated epoch, the last step of
    its curves (older records without ``final_epoch``: the number of evaluated epochs)."""
    for key in ("final_epoch", "epochs"):
        value = result.get(key)
        if isinstance(value, (int, float)) and _finite(value):
            return int(value)
    return 0


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
