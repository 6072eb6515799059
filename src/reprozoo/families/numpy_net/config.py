"""The numpy_net config: the params.yaml section numpy_net."""

from __future__ import annotations

import dataclasses

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int = param(100, gt=0, doc="hidden sigmoid units (the article: 100)")
    epochs: int = param(30, gt=0)
    batch_size: int = param(32, gt=0)
    lr: float = param(3.0, gt=0.0, doc="gradient-descent step on the batch-mean ½·MSE")
    augment: bool = param(True, doc="random 24×24 crop offsets (0..4 px) while training")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")

    def model_config(self) -> ModelConfig:
        return ModelConfig(hidden=self.hidden)
