"""A nanoGPT-style character transformer on Tiny Shakespeare, as a user's own ``cpt_search`` task.

Everything the search needs is in this file: the model (pre-norm blocks of causal self-attention and
an MLP, as in Karpathy's nanoGPT ``model.py``), the budgets and the :class:`TinyGPT` task. The space
file beside it names it by import string (``task: tiny_gpt:TinyGPT``); ``cpt-search`` imports it from
this folder, and on a Ray cluster ships this folder to the workers.

What is quantized (docs/method.md §3): every ``nn.Linear`` (the fused query/key/value projection, the
attention output projection and both MLP maps of each block) runs at the scheduled bits: weights per
output channel, inputs per tensor, errors per tensor with stochastic rounding. Kept in FP32, as the
method keeps normalisation, nonlinearities and residual additions: the token and position embeddings
(lookups, no multiply), layer norms, GELU, residual sums, the softmax, and the two attention matmuls
``q @ k^T`` and ``softmax @ v``. Those matmuls multiply two activations and have no weight; the
papers' quantizer is defined for a layer's weight and input, and CPT/Better Schedules quantize no
attention products, so they stay in FP32 (at block size 64 and width 64 they are about 2 x 64 / (12 x 64),
1/6 of a block's MACs per token; :func:`cpt_search.quant.count_macs` counts only the Linear maps, so the reported BitOPs
leave them out). The output head (``lm_head``) is the classifier and stays FP32 like the papers' final
layer (``quantize_last_layer = False``).

Metric: bits per character on the validation span (lower is better); the test span is reported apart.
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
from cpt_search.tasks.budgets import Budget


@dataclass(frozen=True)
class GPTBudget(Budget):
    """How long and how big.

    Attributes:
        steps_per_epoch: optimizer steps per epoch (random windows: an "epoch" is a count).
        batch_size, block_size: windows per step and characters per window (the context length).
        n_layer, n_head, n_embd: transformer depth, heads and width.
        lr: AdamW peak rate; ``warmup_frac`` of linear warm-up, then cosine to 10 % (nanoGPT's get_lr).
        weight_decay, dropout, grad_clip_norm: regularisation and nanoGPT's gradient clipping at 1.0.
        eval_chars: characters scored in each of the validation and test spans.
    """

    steps_per_epoch: int
    batch_size: int = 32
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 64
    lr: float = 3e-3
    warmup_frac: float = 0.05
    weight_decay: float = 0.1
    dropout: float = 0.0
    grad_clip_norm: float = 1.0
    eval_chars: int = 16384

    def epoch_steps(self, train_size: int | None) -> int | None:
        return self.steps_per_epoch


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)  # quantized
        self.proj = nn.Linear(n_embd, n_embd)  # quantized
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, channels = x.shape
        q, k, v = self.qkv(x).split(channels, dim=2)
        q, k, v = (t.view(batch, time, self.n_head, channels // self.n_head).transpose(1, 2) for t in (q, k, v))
        # FP32 attention products (see the module docstring); the fused kernel when torch has one.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).contiguous().view(batch, time, channels))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + position embeddings, ``n_layer`` pre-norm blocks, a final norm and the output head."""

    def __init__(self, vocab_size: int, budget: GPTBudget) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab_size, budget.n_embd)
        self.pos = nn.Embedding(budget.block_size, budget.n_embd)
        self.blocks = nn.Sequential(*[Block(budget.n_embd, budget.n_head, budget.dropout)
                                      for _ in range(budget.n_layer)])
        self.ln_f = nn.LayerNorm(budget.n_embd)
        # Not tied to the embedding (nanoGPT ties them): the head stays FP32 while a tied weight
        # would be read at two precisions.
        self.lm_head = nn.Linear(budget.n_embd, vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):  # nanoGPT's N(0, 0.02)
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(codes.shape[1], device=codes.device)
        return self.lm_head(self.ln_f(self.blocks(self.tok(codes) + self.pos(positions))))


class TinyGPT(Task):
    """Character-level language modelling with a small transformer, scored in bits per character."""

    name = "tiny_gpt"
    dataset = "tinyshakespeare"
    metric_name = "val_bpc"
    test_metric_name = "test_bpc"
    higher_is_better = False
    quantize_first_layer = True  # the first Linear is block 0's qkv projection
    quantize_last_layer = False  # lm_head: the classifier stays FP32
    budgets = {
        "tiny": GPTBudget(epochs=1, steps_per_epoch=8, batch_size=8, block_size=32, n_layer=1,
                          n_embd=32, eval_chars=1024),
        # 0.21 M parameters; 240 steps of 32 x 64 characters.
        "default": GPTBudget(epochs=2, steps_per_epoch=120),
    }

    def prepare(self, budget: GPTBudget, options: DataOptions, device: torch.device) -> Prepared:
        splits = shakespeare.load_splits(options)
        data = {part: torch.from_numpy(getattr(splits, part)).to(device) for part in ("train", "val", "test")}
        model = GPT(splits.vocab_size, budget).to(device)
        return Prepared(data=data, model=model, example_inputs=(data["train"][None, :budget.block_size],),
                        steps_per_epoch=budget.steps_per_epoch, samples_per_step=budget.batch_size)

    def make_optimizer(self, model: nn.Module, budget: GPTBudget, total_steps: int):
        # nanoGPT: weight decay on matrices only, not on biases, norms or embeddings' positions.
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        rest = [p for n, p in model.named_parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": budget.weight_decay},
                                       {"params": rest, "weight_decay": 0.0}], lr=budget.lr, betas=(0.9, 0.99))
        warmup_steps = max(1, round(budget.warmup_frac * total_steps))

        def lr_factor(step: int) -> float:  # linear warm-up, then cosine from 1 to 0.1
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)

    def batches(self, prepared: Prepared, budget: GPTBudget,
                generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        train = prepared.data["train"]
        window = torch.arange(budget.block_size + 1, device=train.device)
        for _ in range(prepared.steps_per_epoch):
            starts = torch.randint(0, len(train) - budget.block_size - 1, (budget.batch_size,), generator=generator)
            chunk = train[starts.to(train.device)[:, None] + window]
            yield chunk[:, :-1], chunk[:, 1:]

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        logits = model(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def clip_gradients(self, model: nn.Module, budget: GPTBudget) -> None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), budget.grad_clip_norm)

    def evaluate(self, model: nn.Module, prepared: Prepared, budget: GPTBudget) -> Evaluation:
        return Evaluation(metric=bits_per_char(model, prepared.data["val"], budget),
                          accuracy=None, test_metric=bits_per_char(model, prepared.data["test"], budget))


def bits_per_char(model: nn.Module, codes: torch.Tensor, budget: GPTBudget, windows_per_batch: int = 128) -> float:
    """Mean cross-entropy (in bits) of predicting the first ``eval_chars`` characters of ``codes``, in
    consecutive windows of ``block_size`` (each window starts with an empty context)."""
    size = budget.block_size
    windows = min(budget.eval_chars, len(codes) - 1) // size
    inputs = codes[:windows * size].view(windows, size)
    targets = codes[1:windows * size + 1].view(windows, size)
    nats = 0.0
    for start in range(0, windows, windows_per_batch):
        logits = model(inputs[start:start + windows_per_batch])
        nats += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                      targets[start:start + windows_per_batch].reshape(-1), reduction="sum"))
    return nats / (windows * size) / math.log(2)
