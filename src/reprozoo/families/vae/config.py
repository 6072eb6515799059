"""The `vae` section of params.yaml."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int = param(400, gt=0)
    latent_dim: int = param(20, gt=0)
    epochs: int = param(10, gt=0)
    batch_size: int = param(128, gt=0)
    lr: float = param(1e-3, gt=0.0, doc="Adam step size")
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: lr → 0 over the fit's epochs, per batch
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")
    latent2_epochs: int = param(10, ge=0, doc="epochs of the extra 2-d latent model (0 = none)")
    iwae_k: int = param(1000, gt=0, doc="importance samples per test image")
    iwae_limit: int = param(0, ge=0, doc="IWAE on at most this many test images (0 = all)")
    nproc: int = param(1, ge=1, doc="training processes (torchrun + DDP) sharing each batch")

    def model_config(self) -> ModelConfig:
        """The main model: hidden-latent_dim."""
        return ModelConfig(hidden=self.hidden, latent=self.latent_dim)

    def latent2_model_config(self) -> ModelConfig:
        """The extra 2-d latent model for the scatter figure (trained when latent2_epochs > 0)."""
        return ModelConfig(hidden=self.hidden, latent=2)
