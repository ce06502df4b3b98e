"""A user task, named by import string in a search space, whose trials fail at 2-bit precision.

It stands for a user's bug that shows only for some schedules: the search must record those trials
as failed (with the reason) and go on. Ray workers import it from the repository root on their path.
"""

from __future__ import annotations

from cpt_search.tasks import TASKS
from cpt_search.tasks.builtin import DIGITS_TRAIN
from cpt_search.tasks.digits import DigitsMLP


class FailsAtTwoBits(DigitsMLP):
    """``digits/mlp`` whose loss raises while any quantized layer runs at 2 bits."""

    name = "digits-fails-at-2-bits"
    dataset = "digits"
    metric_name = "val_accuracy"
    test_metric_name = "test_accuracy"
    budgets = TASKS.get("digits/mlp").budgets
    train_size = DIGITS_TRAIN

    def loss(self, model, batch):
        if any(getattr(module, "bits", 32) == 2 for module in model.modules()):
            raise RuntimeError("this task cannot train at 2 bits")
        return super().loss(model, batch)
