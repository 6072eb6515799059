"""The charrnn params.yaml section."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    cell: Literal["gru", "rnn"] = "gru"
    embed: int = param(32, gt=0, doc="character embedding size")
    hidden: int = param(128, gt=0)
    steps: int = param(1000, gt=0, doc="optimizer steps (batches of random windows)")
    seq_len: int = param(64, gt=1, doc="BPTT length in characters")
    batch_size: int = param(64, gt=0)
    lr: float = param(2e-3, gt=0.0, doc="Adam step size")
    clip: float = param(1.0, gt=0.0, doc="gradient-norm clip")
    eval_every: int = param(250, gt=0, doc="steps between validation passes")
    train_limit: int = param(0, ge=0, doc="use the first n training sentences; 0 = all")
    eval_limit: int = param(0, ge=0, doc="score the first n valid/test sentences; 0 = all")
    lowercase: bool = True
    prefixes: tuple[str, ...] = ("app", "i want to ", "this is ", "she ")
    sample_len: int = param(60, gt=0, doc="characters generated per completion")
    temperature: float = param(0.7, gt=0.0)
    n_samples: int = param(3, gt=0, doc="sampled completions per prefix (plus the greedy one)")

    def model_config(self, n_chars: int) -> ModelConfig:
        """The network's config; the character-set size comes from the data (or checkpoint)."""
        return ModelConfig(n_chars=n_chars, embed=self.embed, hidden=self.hidden, cell=self.cell)
