"""``shakespeare/lstm``: a character LSTM on Tiny Shakespeare, scored in validation bits per character.

The first 90 % of the text trains, the next 5 % validates (the search objective), the last 5 % tests
(reported apart): :func:`cpt_search.data.shakespeare.load_splits`. Training batches are windows at
random offsets; evaluation runs over consecutive windows of a span. Bits per character is the mean
cross-entropy in nats divided by ln 2; lower is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.data import DataOptions, shakespeare
from cpt_search.tasks.base import Evaluation, Prepared, Task
from cpt_search.tasks.budgets import CharLMBudget
from cpt_search.tasks.models.char_lstm import CharLSTM


@dataclass
class TextData:
    """The encoded spans on the trial's device."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    vocab_size: int


class ShakespeareLSTM(Task[CharLMBudget]):
    """Character-level language modelling; the decoder is quantized too (docs/method.md §3)."""

    quantize_first_layer = True
    quantize_last_layer = True

    def prepare(self, budget: CharLMBudget, options: DataOptions, device: torch.device) -> Prepared:
        splits = shakespeare.load_splits(options)
        data = TextData(train=torch.from_numpy(splits.train).to(device),
                        val=torch.from_numpy(splits.val).to(device),
                        test=torch.from_numpy(splits.test).to(device), vocab_size=splits.vocab_size)
        model = CharLSTM(splits.vocab_size, budget.embed_dim, budget.hidden_size, budget.dropout)
        return Prepared(data=data, model=model.to(device),
                        example_inputs=(data.train[None, :budget.seq_len],),
                        steps_per_epoch=budget.steps_per_epoch, samples_per_step=budget.batch_size)

    def make_optimizer(self, model: nn.Module, budget: CharLMBudget, total_steps: int):
        optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)))
        return optimizer, scheduler

    def batches(self, prepared: Prepared, budget: CharLMBudget,
                generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        train: torch.Tensor = prepared.data.train
        offsets_window = torch.arange(budget.seq_len + 1, device=train.device)
        for _ in range(prepared.steps_per_epoch):
            starts = torch.randint(0, len(train) - budget.seq_len - 1, (budget.batch_size,),
                                   generator=generator).to(train.device)
            windows = train[starts[:, None] + offsets_window]
            yield windows[:, :-1], windows[:, 1:]

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        logits = model(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def clip_gradients(self, model: nn.Module, budget: CharLMBudget) -> None:
        """Clip the gradient norm before the optimizer step."""
        torch.nn.utils.clip_grad_norm_(model.parameters(), budget.grad_clip_norm)

    def evaluate(self, model: nn.Module, prepared: Prepared, budget: CharLMBudget) -> Evaluation:
        data: TextData = prepared.data
        return Evaluation(metric=bits_per_char(model, data.val, budget.seq_len, budget.eval_chars),
                          accuracy=None,
                          test_metric=bits_per_char(model, data.test, budget.seq_len, budget.eval_chars))


def bits_per_char(model: nn.Module, codes: torch.Tensor, seq_len: int, max_chars: int,
                  batch_windows: int = 256) -> float:
    """Bits per character of ``model`` (logits ``[B, T, V]`` from codes ``[B, T]``) predicting the
    first ``max_chars`` characters of ``codes`` after their predecessors, in consecutive windows of
    ``seq_len`` characters (each window starts with an empty context)."""
    span = codes[:max_chars + 1]
    windows = (len(span) - 1) // seq_len
    inputs = span[:windows * seq_len].view(windows, seq_len)
    targets = span[1:windows * seq_len + 1].view(windows, seq_len)
    total_nats = 0.0
    for start in range(0, windows, batch_windows):
        logits = model(inputs[start:start + batch_windows])
        total_nats += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                            targets[start:start + batch_windows].reshape(-1),
                                            reduction="sum"))
    return total_nats / (windows * seq_len) / math.log(2)
