"""The `rbm` section of params.yaml."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    n_hidden: int = param(500, gt=0)
    k: int = param(1, gt=0, doc="Gibbs steps per update (CD-k / PCD-k)")
    persistent: bool = False
    epochs: int = param(20, gt=0)
    batch_size: int = param(100, gt=0)
    lr: float = param(0.05, gt=0.0, doc="SGD step size on the mean-per-example gradient")
    momentum: float = param(0.5, ge=0.0, lt=1.0)
    lr_schedule: Literal["constant", "linear"] = "constant"  # linear: lr × (1 − (epoch−1)/epochs), Tieleman 2008
    weight_decay: float = param(2e-4, ge=0.0, doc="L2 on W (Hinton 2010 §10)")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")
    ais_runs: int = param(100, gt=1, doc="AIS importance-weighted chains")
    ais_betas: int = param(1000, ge=28, doc="intermediate temperatures (S&M 2008: 14,500)")
    eval_limit: int = param(0, ge=0, doc="score at most this many test images (0 = all)")
    gibbs_steps: int = param(1000, gt=0, doc="Gibbs steps for the sample figure")
    compare_sklearn: bool = True

    def model_config(self) -> ModelConfig:
        return ModelConfig(n_hidden=self.n_hidden)
