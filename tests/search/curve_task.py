"""A user task with known learning curves, for testing early stopping through real Ray and Optuna.

It trains ``digits/mlp`` for real (so trials cost what trials cost), but evaluates to a known curve:
the final validation "accuracy" is :data:`FINAL_BY_BITS` of the schedule's evaluation bits (its
``max_bits``), reached linearly: ``final - GAIN * (1 - epoch / epochs)``. Dearer schedules (more
bits) end better up to 6 bits; 7 and 8 bits end worse than every cheaper one, so they are hopeless
and an exact-cost rule should stop them, while 3-6 bits make the front and must train to the end.
"""

from __future__ import annotations

from cpt_search.tasks.base import Evaluation
from cpt_search.tasks.budgets import ImageBudget
from cpt_search.tasks.builtin import DIGITS_TRAIN
from cpt_search.tasks.digits import DigitsMLP

FINAL_BY_BITS = {3: 0.55, 4: 0.65, 5: 0.75, 6: 0.80, 7: 0.35, 8: 0.30}
GAIN = 0.2  # what every trial gains from its first epoch... to its last, linearly


class KnownCurves(DigitsMLP):
    """``digits/mlp`` trained for real, evaluated to the known curve of its schedule's max bits."""

    name = "digits-known-curves"
    dataset = "digits"
    metric_name = "val_accuracy"
    test_metric_name = "test_accuracy"
    budgets = {"tiny": ImageBudget(epochs=8, batch_size=256, lr=0.05),
               "default": ImageBudget(epochs=8, batch_size=256, lr=0.05)}
    train_size = DIGITS_TRAIN

    def evaluate(self, model, prepared, budget) -> Evaluation:
        self._evaluations = getattr(self, "_evaluations", 0) + 1  # one per epoch (eval_every 1)
        bits = max(int(getattr(module, "bits", 0)) for module in model.modules())  # max_bits here
        value = FINAL_BY_BITS[bits] - GAIN * (1 - self._evaluations / budget.epochs)
        return Evaluation(metric=value, accuracy=value, test_metric=value)


def final_value(schedule: dict) -> float:
    """The known final metric of a trained schedule (its dict as stored in Optuna)."""
    return FINAL_BY_BITS[int(schedule["max_bits"])]
