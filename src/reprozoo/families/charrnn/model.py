"""The character-level language model: embedding, one GRU or tanh-RNN layer, linear
readout to the character set; streamed cross-entropy and completion of a prefix.

Shapes: B batch, T characters, E embedding, H hidden, V characters in the set.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from reprozoo.errors import DataError

UNK = "\x00"  # id 0: characters never seen in training


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    n_chars: int
    embed: int = 32
    hidden: int = 128
    cell: Literal["gru", "rnn"] = "gru"


class CharModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.n_chars, cfg.embed)
        rnn = nn.GRU if cfg.cell == "gru" else nn.RNN  # nn.RNN = the article's tanh cell
        self.rnn = rnn(cfg.embed, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, cfg.n_chars)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.rnn(self.emb(x), h)      # (B, T, H)
        return self.out(y), h                # logits (B, T, V)


@torch.no_grad()
def cross_entropy(model: CharModel, ids: torch.Tensor, device: Any, strips: int = 32,
                  chunk: int = 200) -> float:
    """Mean next-character cross-entropy (nats) over a whole stream, carrying the state:
    the stream is cut into `strips` contiguous rows scored in `chunk`-long pieces."""
    model.eval()
    strips = max(1, min(strips, (len(ids) - 1) // 64))   # short texts: fewer, longer rows
    n = (len(ids) - 1) // strips * strips
    if n <= 0:
        raise DataError("evaluation text is empty")
    x = ids[:n].view(strips, -1).to(device)              # (strips, n/strips)
    y = ids[1:n + 1].view(strips, -1).to(device)
    h, total = None, 0.0
    for i in range(0, x.shape[1], chunk):
        logits, h = model(x[:, i:i + chunk], h)
        total += F.cross_entropy(logits.flatten(0, 1), y[:, i:i + chunk].flatten(), reduction="sum").item()
    model.train()
    return total / n


@torch.no_grad()
def complete(model: CharModel, itos: str, prefix: str, n: int, temperature: float,
             g: torch.Generator | None, device: Any) -> str:
    """Continue `prefix` for up to n characters (stops at the end of the sentence);
    greedy when `g` is None, else sampled at `temperature` from the seeded generator."""
    stoi = {ch: i for i, ch in enumerate(itos)}
    model.eval()
    x = torch.tensor([[stoi.get(ch, 0) for ch in "\n" + prefix]], device=device)
    logits, h = model(x)
    out = []
    for _ in range(n):
        last = logits[0, -1].float().cpu()
        if g is None:
            i = int(last.argmax())
        else:
            i = int(torch.multinomial(F.softmax(last / temperature, -1), 1, generator=g))
        if itos[i] == "\n":
            break
        out.append(itos[i] if itos[i] != UNK else "?")
        logits, h = model(torch.tensor([[i]], device=device), h)
    model.train()
    return prefix + "".join(out)
