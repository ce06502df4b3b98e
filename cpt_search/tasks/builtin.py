"""The built-in tasks' metadata (torch-free): names, metrics, datasets, budgets, where the code is.

| task | data | model |
|---|---|---|
| ``fashion-mnist/cnn`` | Fashion-MNIST | small CNN (the CPU workhorse) |
| ``fashion-mnist/resnet20`` | Fashion-MNIST | CIFAR-style ResNet-20, 1 input channel |
| ``cifar10/resnet20``, ``cifar100/resnet74`` | CIFAR | the papers' ResNets (GPU-sized) |
| ``cora/gcn``, ``citeseer/gcn`` | Planetoid split | 2-layer GCN |
| ``shakespeare/lstm`` | Tiny Shakespeare | char LSTM, metric ``val_bpc`` (lower is better) |
| ``digits/mlp`` | scikit-learn digits | MLP (instant, for tests) |

Every task selects on a validation split (``val_accuracy``, ``val_bpc``: the search objective) and
reports a test split apart (``test_accuracy``, ``test_bpc``): the Planetoid validation and test
masks; a fixed hold-out of the training images with the official test images
(:mod:`cpt_search.data.splits`); distinct validation and test spans of the text; a fixed digits split.

Every built-in task has the budgets ``tiny`` (tests, seconds), ``default`` (CPU searches) and
``paper`` (the papers', GPU-sized).
"""

from __future__ import annotations

from cpt_search.tasks.budgets import CharLMBudget, GraphBudget, ImageBudget
from cpt_search.tasks.info import TaskInfo

# Training samples after the fixed validation hold-outs (cpt_search.data: fashion_mnist.VAL_SIZE,
# cifar.VAL_SIZE, digits.HELD_OUT_FRAC); constants here keep the metadata free of the data code.
FASHION_MNIST_TRAIN = 60_000 - 5_000
CIFAR_TRAIN = 50_000 - 5_000
DIGITS_TRAIN = 1_797 - 359  # scikit-learn's 1,797 digits less the fixed 20 % validation + test
ACCURACY = ("val_accuracy", "test_accuracy")  # (selects, reports)

# CPT's CIFAR recipe (from SkipNet): SGD with momentum 0.9, weight decay 1e-4, batch 128, learning
# rate 0.1 divided by 10 at 50 % and 75 % of 64,000 steps (164 epochs).
_CIFAR_PAPER = ImageBudget(epochs=164, batch_size=128, lr=0.1, weight_decay=1e-4, nesterov=False,
                           lr_schedule="step", augment=True)
_CIFAR_DEFAULT = ImageBudget(epochs=30, batch_size=128, lr=0.1, weight_decay=5e-4, warmup_frac=0.02,
                             augment=True)
_CIFAR_TINY = ImageBudget(epochs=1, batch_size=32, lr=0.05, augment=True, train_samples=256,
                          test_samples=256)
_GRAPH = {
    "tiny": GraphBudget(epochs=16, eval_every=4),
    "default": GraphBudget(epochs=200, eval_every=10),
    "paper": GraphBudget(epochs=200, eval_every=10),
}


def _image(name: str, dataset: str, train_size: int, factory: str, budgets: dict,
           summary: str) -> TaskInfo:
    return TaskInfo(name=name, dataset=dataset, metric_name=ACCURACY[0], test_metric_name=ACCURACY[1],
                    higher_is_better=True, budgets=budgets, train_size=train_size, factory=factory,
                    summary=summary)


BUILTIN_TASKS: tuple[TaskInfo, ...] = (
    _image("fashion-mnist/cnn", "fashion-mnist", FASHION_MNIST_TRAIN,
           "cpt_search.tasks.fashion_mnist:FashionMnistCNN", {
               "tiny": ImageBudget(epochs=2, batch_size=64, lr=0.05, train_samples=1024,
                                   test_samples=512),
               "default": ImageBudget(epochs=3, batch_size=128, lr=0.05, warmup_frac=0.05),
               "paper": ImageBudget(epochs=30, batch_size=128, lr=0.05, warmup_frac=0.02, augment=False),
           }, "small CNN on Fashion-MNIST (about 0.90 accuracy in 3 epochs on one CPU thread)"),
    _image("fashion-mnist/resnet20", "fashion-mnist", FASHION_MNIST_TRAIN,
           "cpt_search.tasks.fashion_mnist:FashionMnistResNet20", {
               "tiny": ImageBudget(epochs=1, batch_size=32, lr=0.05, train_samples=256,
                                   test_samples=256),
               "default": ImageBudget(epochs=1, batch_size=128, lr=0.1, warmup_frac=0.05),
               "paper": ImageBudget(epochs=40, batch_size=128, lr=0.1, weight_decay=1e-4,
                                    lr_schedule="step", augment=True),
           }, "CIFAR ResNet-20 on 28x28 grey images (about 10x the CNN's cost)"),
    _image("cifar10/resnet20", "cifar10", CIFAR_TRAIN, "cpt_search.tasks.cifar:Cifar10ResNet20",
           {"tiny": _CIFAR_TINY, "default": _CIFAR_DEFAULT, "paper": _CIFAR_PAPER},
           "the papers' ResNet-20 on CIFAR-10 (GPU-sized)"),
    _image("cifar100/resnet74", "cifar100", CIFAR_TRAIN, "cpt_search.tasks.cifar:Cifar100ResNet74",
           {"tiny": _CIFAR_TINY, "default": _CIFAR_DEFAULT, "paper": _CIFAR_PAPER},
           "CPT's headline ResNet-74 on CIFAR-100 (GPU-sized)"),
    TaskInfo(name="cora/gcn", dataset="cora", metric_name=ACCURACY[0], test_metric_name=ACCURACY[1],
             higher_is_better=True,
             budgets=_GRAPH, factory="cpt_search.tasks.planetoid_gcn:PlanetoidGCN",
             summary="Kipf & Welling's 2-layer GCN on Cora, full batch"),
    TaskInfo(name="citeseer/gcn", dataset="citeseer", metric_name=ACCURACY[0],
             test_metric_name=ACCURACY[1], higher_is_better=True, budgets=_GRAPH,
             factory="cpt_search.tasks.planetoid_gcn:PlanetoidGCN",
             summary="Kipf & Welling's 2-layer GCN on CiteSeer, full batch"),
    TaskInfo(name="shakespeare/lstm", dataset="tinyshakespeare", metric_name="val_bpc",
             test_metric_name="test_bpc", higher_is_better=False,
             factory="cpt_search.tasks.shakespeare_lstm:ShakespeareLSTM",
             budgets={
                 "tiny": CharLMBudget(epochs=1, steps_per_epoch=16, batch_size=8, seq_len=32,
                                      hidden_size=64, eval_chars=2048),
                 # Hidden 128: the per-time-step recurrent map makes the step cost grow with H^2 on a CPU.
                 "default": CharLMBudget(epochs=3, steps_per_epoch=200, batch_size=32, seq_len=64,
                                         lr=3e-3, hidden_size=128),
                 "paper": CharLMBudget(epochs=20, steps_per_epoch=1000, batch_size=64, seq_len=128,
                                       embed_dim=128, hidden_size=512, eval_chars=55_000),
             }, summary="character LSTM on Tiny Shakespeare, validation bits per character"),
    _image("digits/mlp", "digits", DIGITS_TRAIN, "cpt_search.tasks.digits:DigitsMLP", {
        "tiny": ImageBudget(epochs=2, batch_size=64, lr=0.05),
        "default": ImageBudget(epochs=20, batch_size=64, lr=0.05, warmup_frac=0.05),
        "paper": ImageBudget(epochs=50, batch_size=64, lr=0.05, warmup_frac=0.05),
    }, "scikit-learn's 8x8 digits and an MLP: trains in well under a second (tests, smoke runs)"),
)
