"""The seq2seq / seq2seq_seed params.yaml sections."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    embed: int = param(128, ge=1, doc="embedding size")
    hidden: int = param(256, ge=1, doc="GRU hidden size")
    bidirectional: bool = True
    attention: Literal["none", "dot", "general", "additive"] = "additive"
    relu_embedding: bool = False
    dropout: float = param(0.1, ge=0.0, lt=1.0)
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = param(0.002, gt=0.0)
    grad_clip: float = param(1.0, ge=0.0, doc="max global grad norm (0 = off)")
    epochs: int = param(8, ge=1)
    batch_size: int = param(64, ge=1)
    teacher_forcing: float = param(1.0, ge=0.0, le=1.0, doc="probability of feeding the gold token")
    label_smoothing: float = param(0.0, ge=0.0, lt=1.0)
    max_len: int = param(16, ge=0, doc="train on pairs with both sides ≤ this many tokens (0 = all)")
    train_limit: int = param(0, ge=0, doc="use the first n training pairs (0 = all)")
    beam: int = param(4, ge=1, doc="beam width at evaluation (1 = greedy only)")
    decode_max_len: int = param(30, ge=1, doc="longest output in tokens")
    valid_limit: int = param(500, ge=0, doc="valid pairs scored for BLEU each epoch (0 = all)")
    nproc: int = param(1, ge=1, doc="training processes (torchrun + DDP) sharing each batch")

    def model_config(self, src_vocab: int, tgt_vocab: int) -> ModelConfig:
        """The network's config; the vocabulary sizes come from the data (or checkpoint)."""
        return ModelConfig(src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed=self.embed, hidden=self.hidden,
                           bidirectional=self.bidirectional, attention=self.attention,
                           relu_embedding=self.relu_embedding, dropout=self.dropout)
