"""A character LSTM whose input and recurrent maps are explicit ``nn.Linear`` layers.

``nn.LSTM`` fuses its matrices into one opaque kernel that a module-level quantizer cannot reach;
writing the cell out makes the input map, the recurrent map and the decoder ordinary linear layers
(quantized, as in docs/method.md §3) while the embedding and the gate nonlinearities stay FP32.
"""

from __future__ import annotations

import torch
from torch import nn


class CharLSTM(nn.Module):
    """Embedding -> one LSTM layer (explicit linear maps) -> dropout -> linear decoder."""

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.input_map = nn.Linear(embed_dim, 4 * hidden_size)
        self.recurrent_map = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        with torch.no_grad():  # forget-gate bias 1: the usual start that keeps memory early on
            self.input_map.bias.zero_()
            self.input_map.bias[hidden_size:2 * hidden_size].fill_(1.0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, T, vocab]`` for token ids ``[B, T]``."""
        batch, steps = tokens.shape
        # The input map runs once over the whole sequence; only the recurrent map is per time step.
        gates_in = self.input_map(self.embedding(tokens))  # [B, T, 4H]
        h = gates_in.new_zeros(batch, self.hidden_size)
        c = gates_in.new_zeros(batch, self.hidden_size)
        outputs = []
        for t in range(steps):
            i, f, g, o = (gates_in[:, t] + self.recurrent_map(h)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return self.decoder(self.dropout(torch.stack(outputs, dim=1)))
