"""The multnet config: the params.yaml section multnet."""

from __future__ import annotations

import dataclasses

from reprozoo.config import param
from reprozoo.errors import ConfigError

from .model import ModelConfig

VARIANTS = ("faithful", "reliable", "nac_mul")


@dataclasses.dataclass(frozen=True)
class Config:
    variants: tuple[str, ...] = ("faithful", "reliable", "nac_mul")
    seeds: int = param(20, gt=0, doc="independent restarts per variant")
    hidden: int = param(4, gt=0, doc="hidden width of the faithful subnets (article: 4)")
    steps: int = param(2000, gt=0, doc="faithful: Adam steps on all 10,000 pairs")
    lr: float = param(0.01, gt=0.0, doc="faithful: Adam step size")
    batch: int = param(1000, gt=0, doc="faithful: pairs per minibatch (10,000 = full batch)")
    hidden_reliable: int = param(32, gt=1, doc="hidden width of the reliable subnets")
    nac_steps: int = param(500, gt=0, doc="nac_mul: Adam steps (lr 0.05) on all pairs")

    def __post_init__(self) -> None:
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ConfigError(f"multnet.variants = {list(self.variants)}: choose from {', '.join(VARIANTS)}")

    def model_config(self) -> ModelConfig:
        return ModelConfig(seeds=self.seeds, hidden=self.hidden, hidden_reliable=self.hidden_reliable)
