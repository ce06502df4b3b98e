"""Training budgets: how long and with which optimiser knobs a task trains (pure data).

A budget is a frozen dataclass; each kind of task extends :class:`Budget` with its knobs and says how
many optimizer steps one epoch has (:meth:`Budget.epoch_steps`), so a task's exact step count is
known without loading its data or importing torch (costs and feasibility are exact before training).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """Training length and optimiser knobs shared by every task; tasks extend it.

    Attributes:
        epochs: passes over the training data (for full-batch graphs: optimizer steps).
        eval_every: evaluate (and report an epoch record) every this many epochs and after the
            last; a full-batch graph has one step per epoch, so evaluating each would dominate.
    """

    epochs: int
    eval_every: int = dataclasses.field(default=1, kw_only=True)

    def epoch_steps(self, train_size: int | None) -> int | None:
        """Optimizer steps in one epoch over ``train_size`` training samples (``None``: unknown)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for logs and trial records."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ImageBudget(Budget):
    """Budget of an image classification task.

    Attributes:
        batch_size: samples per optimizer step (the last partial batch is dropped).
        lr: peak learning rate of SGD with momentum.
        momentum, nesterov, weight_decay: SGD settings.
        lr_schedule: ``"cosine"`` (to zero, after ``warmup_frac`` of linear warm-up) or ``"step"``
            (x0.1 at each of ``milestones_frac``, the CIFAR ResNet recipe CPT uses).
        warmup_frac: fraction of the steps spent ramping the learning rate up linearly.
        milestones_frac: fractions of training where the step schedule divides the rate by 10.
        augment: random crop (padding 4) and horizontal flip.
        train_samples: train on only the first N training samples (tiny budgets); ``None`` = all.
        test_samples: evaluate on only the first N samples of the validation and of the test split
            (each); ``None`` = all.
        eval_batch_size: samples per evaluation forward pass.
    """

    batch_size: int
    lr: float
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    lr_schedule: str = "cosine"
    warmup_frac: float = 0.0
    milestones_frac: tuple[float, ...] = (0.5, 0.75)
    augment: bool = False
    train_samples: int | None = None
    test_samples: int | None = None
    eval_batch_size: int = 1000

    def epoch_steps(self, train_size: int | None) -> int | None:
        if train_size is None:
            return None
        samples = min(self.train_samples, train_size) if self.train_samples else train_size
        return samples // self.batch_size


@dataclass(frozen=True)
class GraphBudget(Budget):
    """Budget of a full-batch node classification task (``epochs`` = optimizer steps)."""

    lr: float = 0.01
    weight_decay: float = 5e-4
    hidden_channels: int = 16
    dropout: float = 0.5

    def epoch_steps(self, train_size: int | None) -> int | None:
        return 1


@dataclass(frozen=True)
class CharLMBudget(Budget):
    """Budget of the character language model.

    Attributes:
        steps_per_epoch: optimizer steps per epoch (random windows, so an "epoch" is a count).
        batch_size, seq_len: windows per step and characters per window.
        lr: Adam learning rate, decayed by cosine to 10 % over training.
        embed_dim, hidden_size, dropout: model size.
        grad_clip_norm: gradient norm clipping, the usual guard for recurrent nets.
        eval_chars: characters scored in each of the validation and test spans (a prefix of each).
    """

    steps_per_epoch: int
    batch_size: int
    seq_len: int
    lr: float = 2e-3
    embed_dim: int = 64
    hidden_size: int = 256
    dropout: float = 0.1
    grad_clip_norm: float = 1.0
    eval_chars: int = 32768

    def epoch_steps(self, train_size: int | None) -> int | None:
        return self.steps_per_epoch
