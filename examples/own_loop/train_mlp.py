"""A user's own PyTorch loop, searched by cpt_search: an MLP on scikit-learn's handwritten digits.

Nothing here is cpt_search's except three calls: ``ctx.quantize`` (fake quantization and the MAC
count, before the first step), ``ctx.attach`` (the scheduled bits follow ``optimizer.step()``) and
``ctx.report`` (the validation metric the search selects on, and the test metric shown beside it).
The decorator declares the metric and how many optimizer steps a budget means, so every schedule's
cost is known before anything trains.

    cpt-search check-task train_mlp:train          # from this folder: the task contract
    cpt-search run examples/own_loop/space.yaml    # the search
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import cpt_search

SPLIT_SEED = 0  # a fixed split: every trial selects on the same validation digits
TRAIN_FRAC, VAL_FRAC = 0.6, 0.2
TRAIN_SIZE = int(1797 * TRAIN_FRAC)  # scikit-learn ships 1,797 digits


def knobs(budget) -> dict:
    """The space's budget: ``default``, or a mapping overriding these knobs."""
    return {"epochs": 15, "batch_size": 64, "lr": 0.05, "hidden": 128,
            **(budget if isinstance(budget, dict) else {})}


def total_steps(budget) -> int:
    k = knobs(budget)
    return k["epochs"] * (TRAIN_SIZE // k["batch_size"])  # drop_last: every step a full batch


def load_splits(device):
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(len(y)))
    n_val = int(len(y) * VAL_FRAC)
    train, val, test = order[:TRAIN_SIZE], order[TRAIN_SIZE:TRAIN_SIZE + n_val], order[TRAIN_SIZE + n_val:]
    return [(x[i].to(device), y[i].to(device)) for i in (train, val, test)]


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


@cpt_search.training_function(metric="val_accuracy", higher_is_better=True, test_metric="test_accuracy",
                              total_steps=total_steps)
def train(ctx: cpt_search.TrialContext) -> None:
    k = knobs(ctx.budget)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = load_splits(ctx.device)
    model = nn.Sequential(nn.Linear(64, k["hidden"]), nn.ReLU(), nn.Linear(k["hidden"], k["hidden"]),
                          nn.ReLU(), nn.Linear(k["hidden"], 10)).to(ctx.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=k["lr"], momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps(ctx.budget))
    ctx.quantize(model, train_x[:k["batch_size"]])
    ctx.attach(optimizer)
    generator = torch.Generator().manual_seed(ctx.seed)
    batch = k["batch_size"]
    for epoch in range(1, k["epochs"] + 1):
        model.train()
        order = torch.randperm(len(train_y), generator=generator).to(ctx.device)
        for start in range(0, len(order) - batch + 1, batch):
            rows = order[start:start + batch]
            loss = nn.functional.cross_entropy(model(train_x[rows]), train_y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        ctx.report(epoch=epoch, metric=accuracy(model, val_x, val_y),
                   test_metric=accuracy(model, test_x, test_y), loss=loss.item())
