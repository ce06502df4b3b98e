"""The registered tasks: ``TASKS.get(name)`` returns a :class:`~cpt_search.tasks.base.Task`.

| task | data | model |
|---|---|---|
| ``fashion-mnist/cnn`` | Fashion-MNIST | small CNN (the CPU workhorse) |
| ``fashion-mnist/resnet20`` | Fashion-MNIST | CIFAR-style ResNet-20, 1 input channel |
| ``cifar10/resnet20``, ``cifar100/resnet74`` | CIFAR | the papers' ResNets (GPU-sized) |
| ``cora/gcn``, ``citeseer/gcn`` | Planetoid split | 2-layer GCN |
| ``shakespeare/lstm`` | Tiny Shakespeare | char LSTM, metric ``val_bpc`` (lower is better) |
| ``digits/mlp`` | scikit-learn digits | MLP (instant, for tests) |

Every task has the budgets ``tiny``, ``default`` and ``paper``.
"""

from __future__ import annotations

from cpt_search.registry import Registry
from cpt_search.tasks.base import BUDGET_NAMES, Budget, Evaluation, Prepared, Task
from cpt_search.tasks.cifar import Cifar10ResNet20, Cifar100ResNet74
from cpt_search.tasks.digits import DigitsMLP
from cpt_search.tasks.fashion_mnist import FashionMnistCNN, FashionMnistResNet20
from cpt_search.tasks.planetoid_gcn import PlanetoidGCN
from cpt_search.tasks.shakespeare_lstm import ShakespeareLSTM

TASKS: Registry[Task] = Registry("task")
for _task in (FashionMnistCNN(), FashionMnistResNet20(), Cifar10ResNet20(), Cifar100ResNet74(),
              PlanetoidGCN("cora"), PlanetoidGCN("citeseer"), ShakespeareLSTM(), DigitsMLP()):
    assert set(_task.budgets) == set(BUDGET_NAMES), _task.name
    TASKS.register(_task.name, _task)

__all__ = ["BUDGET_NAMES", "Budget", "Evaluation", "Prepared", "TASKS", "Task"]
