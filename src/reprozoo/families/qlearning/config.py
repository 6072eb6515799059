"""The `ql_frozenlake4`, `ql_frozenlake8` and `ql_taxi` sections of params.yaml (one
config class for the three)."""

from __future__ import annotations

import dataclasses

from reprozoo.config import param
from reprozoo.errors import ConfigError

from .env import check_env


@dataclasses.dataclass(frozen=True)
class Config:
    env_id: str = "FrozenLake-v1"
    map_name: str = param("4x4", doc="FrozenLake-v1 map (4x4 | 8x8); ignored by the other envs")
    is_slippery: bool = True
    episodes: int = param(20000, gt=0, doc="training episodes")
    alpha: float = param(0.1, gt=0.0, le=1.0, doc="step size at the start")
    alpha_end: float = param(0.01, gt=0.0, le=1.0, doc="step size after the decay")
    gamma: float = param(0.99, gt=0.0, le=1.0, doc="discount")
    eps_start: float = param(1.0, ge=0.0, le=1.0, doc="ε-greedy: exploration at the start")
    eps_end: float = param(0.01, ge=0.0, le=1.0)
    decay_fraction: float = param(0.8, gt=0.0, le=1.0, doc="share of episodes over which ε and α decay linearly")
    q_init: float = 0.0
    eval_every: int = param(500, gt=0, doc="episodes between learning-curve points")
    eval_episodes: int = param(10000, gt=0, doc="greedy episodes in evaluate")
    threshold: float = param(0.7, doc="return counted as solved (gymnasium's reward_threshold)")

    def __post_init__(self) -> None:
        try:
            check_env(self.env_id, self.map_name)
        except ConfigError as exc:  # ValueError: config.build prefixes the file and section
            raise ValueError(str(exc)) from None
