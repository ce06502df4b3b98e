"""``shakespeare/lstm``: a character LSTM on Tiny Shakespeare, scored in validation bits per character.

The first 90 % of the text trains, the last 10 % validates. Training batches are windows at random
offsets; validation runs over consecutive windows of the validation text. Bits per character is the
mean cross-entropy in nats divided by ln 2; lower is better.
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

VAL_FRAC = 0.1


@dataclass
class TextData:
    """The encoded splits on the trial's device."""

    train: torch.Tensor
    val: torch.Tensor
    vocab_size: int


class ShakespeareLSTM(Task):
    """Character-level language modelling; the decoder is quantized too (docs/method.md §3)."""

    quantize_first_layer = True
    quantize_last_layer = True

    def prepare(self, budget: CharLMBudget, options: DataOptions, device: torch.device) -> Prepared:
        text = shakespeare.load(options)
        vocab = sorted(set(text))
        lookup = {char: index for index, char in enumerate(vocab)}
        encoded = torch.tensor([lookup[char] for char in text], dtype=torch.long)
        split = int(len(encoded) * (1 - VAL_FRAC))
        data = TextData(train=encoded[:split].to(device), val=encoded[split:].to(device),
                        vocab_size=len(vocab))
        model = CharLSTM(len(vocab), budget.embed_dim, budget.hidden_size, budget.dropout)
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
        val: torch.Tensor = prepared.data.val[:budget.eval_chars + 1]
        windows = (len(val) - 1) // budget.seq_len
        inputs = val[:windows * budget.seq_len].view(windows, budget.seq_len)
        targets = val[1:windows * budget.seq_len + 1].view(windows, budget.seq_len)
        total_nats = 0.0
        for start in range(0, windows, 256):
            logits = model(inputs[start:start + 256])
            total_nats += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                targets[start:start + 256].reshape(-1),
                                                reduction="sum"))
        bpc = total_nats / (windows * budget.seq_len) / math.log(2)
        return Evaluation(metric=bpc, accuracy=None)
