"""Every built-in task's metric is its validation split's; the test split is reported apart.

A model that is right exactly on the validation samples (and wrong elsewhere) must score 1.0 as the
metric and near 0 as the test metric: the objective can only come from the validation split.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cpt_search.data import DataOptions, prepare_dataset_root
from cpt_search.errors import DataError
from cpt_search.tasks import TASKS
from tests.conftest import shared_data_dir


class ConstantClass(nn.Module):
    """Predicts class 0 for every input (logits ``[N, classes]``)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(x), self.classes)
        logits[:, 0] = 1.0
        return logits


class OracleOnMask(nn.Module):
    """A graph model right on the ``mask`` nodes and wrong on all others."""

    def __init__(self, labels: torch.Tensor, mask: torch.Tensor, classes: int) -> None:
        super().__init__()
        self.pred = torch.where(mask, labels, (labels + 1) % classes)
        self.classes = classes

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(self.pred, self.classes).float()


def test_image_task_scores_the_validation_split_as_its_metric(tmp_path):
    task = TASKS.get("digits/mlp").load()
    budget = task.budget("tiny")
    prepared = task.prepare(budget, DataOptions(cache_dir=str(tmp_path)), torch.device("cpu"))
    prepared.data.val_y.zero_()  # every validation label is now the constant model's class
    evaluation = task.evaluate(ConstantClass(10), prepared, budget)
    assert evaluation.metric == evaluation.accuracy == 1.0
    share_of_zeros = float((prepared.data.test_y == 0).float().mean())
    assert evaluation.test_metric == pytest.approx(share_of_zeros) and evaluation.test_metric < 0.2


@pytest.mark.parametrize("name", ["cora/gcn", "citeseer/gcn"])
def test_graph_task_selects_on_the_validation_mask_and_reports_the_test_mask(name, tmp_path):
    info = TASKS.get(name)
    try:
        root = prepare_dataset_root(info.dataset, shared_data_dir(), cache_dir=tmp_path)
    except DataError as error:
        pytest.skip(f"data for {name} not on this machine: {error}")
    task = info.load()
    budget = task.budget("tiny")
    options = DataOptions(data_dir=str(root), cache_dir=str(tmp_path))
    prepared = task.prepare(budget, options, torch.device("cpu"))
    data = prepared.data
    classes = int(data.y.max()) + 1
    on_val = task.evaluate(OracleOnMask(data.y, data.val_mask, classes), prepared, budget)
    assert (on_val.metric, on_val.test_metric) == (1.0, 0.0)
    on_test = task.evaluate(OracleOnMask(data.y, data.test_mask, classes), prepared, budget)
    assert (on_test.metric, on_test.test_metric) == (0.0, 1.0)
