"""The MNIST classifiers' config: the params.yaml sections slp, mlp, cnn and mlp_imginit."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    arch: Literal["slp", "mlp", "cnn", "mlp_imginit"] = "mlp"
    hidden: int = param(512, gt=0, doc="hidden units (mlp, mlp_imginit)")
    epochs: int = param(20, gt=0)
    batch_size: int = param(64, gt=0)
    lr: float = param(1e-3, gt=0.0, doc="Adam step size")
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: lr → 0 over `epochs`, per batch
    weight_decay: float = param(0.0, ge=0.0)
    dropout: float = param(0.0, ge=0.0, lt=1.0)
    patience: int = param(5, gt=0, doc="epochs without a lower validation loss before stopping")
    augment: bool = False
    nproc: int = param(1, ge=1, doc="training processes (torchrun + DDP) sharing each batch")

    def model_config(self) -> ModelConfig:
        return ModelConfig(arch=self.arch, hidden=self.hidden, dropout=self.dropout)
