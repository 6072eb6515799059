"""The environments: gymnasium's toy-text worlds copied once into arrays (`Tables`).

The environment's own transition table (`env.unwrapped.P`, the same dynamics `env.step`
samples) becomes (S, A, K) arrays of outcome probabilities, next states, rewards and
terminal flags, with the initial-state distribution and the env's time limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reprozoo.errors import ConfigError

from .model import Tables

# env_id → the gymnasium id made. gymnasium ≥1.3 retires Taxi-v3 in favour of Taxi-v4,
# whose default dynamics are the same (v4 only fixes the optional rainy/fickle modes).
# FrozenLake8x8-v1 is the 8×8 lake with its own 200-step limit (FrozenLake-v1 stops at 100
# steps whatever the map, which caps the 8×8 optimum near 0.63).
SUPPORTED = {"FrozenLake-v1": "FrozenLake-v1", "FrozenLake8x8-v1": "FrozenLake8x8-v1",
             "Taxi-v3": "Taxi-v4", "Taxi-v4": "Taxi-v4"}
MAPS = ("4x4", "8x8")


def check_env(env_id: str, map_name: str = "4x4") -> None:
    """Raise ConfigError naming the supported environments when `env_id` is not one."""
    if env_id not in SUPPORTED:
        raise ConfigError(f"env_id = {env_id!r}: unsupported environment; supported: "
                          f"{', '.join(SUPPORTED)} (FrozenLake map_name: {', '.join(MAPS)})")
    if env_id == "FrozenLake-v1" and map_name not in MAPS:
        raise ConfigError(f"map_name = {map_name!r}: choose one of {', '.join(MAPS)}")


def make_tables(env_id: str, map_name: str = "4x4", is_slippery: bool = True) -> Tables:
    """The supported env `env_id` as `Tables` (the only place gymnasium is used)."""
    import gymnasium as gym

    check_env(env_id, map_name)
    kwargs: dict[str, Any] = {"is_slippery": is_slippery} if env_id.startswith("FrozenLake") else {}
    if env_id == "FrozenLake-v1":
        kwargs["map_name"] = map_name
    env = gym.make(SUPPORTED[env_id], **kwargs)
    u = env.unwrapped
    P = u.P
    S, A = len(P), len(P[0])
    K = max(len(out) for d in P.values() for out in d.values())
    prob, rew = np.zeros((S, A, K)), np.zeros((S, A, K))
    nxt, done = np.zeros((S, A, K), dtype=np.int64), np.ones((S, A, K), dtype=bool)
    for s in range(S):
        for a in range(A):
            for k, (p, s2, r, d) in enumerate(P[s][a]):
                prob[s, a, k], nxt[s, a, k], rew[s, a, k], done[s, a, k] = p, s2, r, d
    desc = np.asarray(u.desc).astype(str) if hasattr(u, "desc") and env_id.startswith("Frozen") else None
    t = Tables(prob, nxt, rew, done, np.asarray(u.initial_state_distrib, dtype=np.float64),
               int(env.spec.max_episode_steps), desc)
    env.close()
    return t
