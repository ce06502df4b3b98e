"""Training functions for the tests: one small user loop whose budget knobs can break the contract.

``budget`` is a mapping (or the name ``"default"``): ``epochs``, ``batches`` (per epoch), and the
faults ``skip_quantize``, ``skip_attach``, ``skip_report``, ``extra_steps`` (more optimizer steps
than declared), ``missing_steps`` (fewer), ``metric`` (``"tensor"``, ``"nan"``).
"""

from __future__ import annotations

import torch
from torch import nn

import cpt_search

BATCH = 16
SEEN: dict = {}  # what the last call saw: the bits of every training and evaluation forward


def knobs(budget) -> dict:
    return {"epochs": 2, "batches": 6, **(budget if isinstance(budget, dict) else {})}


def declared_steps(budget) -> int:
    k = knobs(budget)
    return k["epochs"] * k["batches"]


@cpt_search.training_function(metric="val_accuracy", test_metric="test_accuracy", total_steps=declared_steps)
def train(ctx: cpt_search.TrialContext) -> None:
    k = knobs(ctx.budget)
    generator = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(BATCH * k["batches"] + 64, 8, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    SEEN.clear()
    SEEN.update(budget=ctx.budget, seed=ctx.seed, device=str(ctx.device), threads=ctx.threads,
                data_dir=ctx.data_dir, train_bits=[], eval_bits=[])
    if not k.get("skip_quantize"):
        ctx.quantize(model, x[:BATCH])
    if not k.get("skip_attach"):
        ctx.attach(optimizer)
    if ctx.handle is not None:
        first = ctx.handle.layers[0]
        # The bits the first quantized layer runs at, per forward (registered after attach, so
        # after the context's own hook has picked them).
        model[0].register_forward_hook(
            lambda module, args, out: SEEN["train_bits" if module.training else "eval_bits"].append(
                (first.bits, first.grad_bits)))
    steps = k["epochs"] * k["batches"] + k.get("extra_steps", 0) - k.get("missing_steps", 0)
    step = 0
    for epoch in range(1, k["epochs"] + 1):
        model.train()
        for index in range(k["batches"]):
            if step >= steps:
                break
            rows = slice(index * BATCH, (index + 1) * BATCH)
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        if epoch == k["epochs"]:
            while step < steps:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(x[:BATCH]), y[:BATCH]).backward()
                optimizer.step()
                step += 1
        model.eval()
        with torch.no_grad():
            correct = (model(x[-64:]).argmax(1) == y[-64:]).float().mean()
        metric = {"tensor": correct, "nan": float("nan")}.get(k.get("metric"), float(correct))
        if not k.get("skip_report"):
            ctx.report(epoch=epoch, metric=metric, test_metric=float(correct), loss=loss.item())


def undecorated(ctx) -> None:
    """A plain function: an import string naming it is refused with a hint."""
