"""The `rules` section of params.yaml."""

from __future__ import annotations

import dataclasses

from reprozoo.config import param

from .model import ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    min_support: float = param(0.001, gt=0.0, le=1.0, doc="itemsets kept: σ/N >= this")
    min_confidence: float = param(0.5, ge=0.0, le=1.0, doc="rules kept: confidence >= this")
    max_len: int = param(0, ge=0, doc="longest itemset mined (0 = no limit)")
    top_k: int = param(20, gt=0, doc="rows of the top-rules-by-lift table")
    support_grid: tuple[float, ...] = (0.05, 0.02, 0.01, 0.005, 0.002, 0.001)

    def model_config(self) -> ModelConfig:
        return ModelConfig(min_support=self.min_support, min_confidence=self.min_confidence,
                           max_len=self.max_len or None)
