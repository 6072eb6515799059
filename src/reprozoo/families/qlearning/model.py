"""Tabular Q-learning, the pure parts: a finite MDP as arrays, the article's update rule,
the greedy policy, its exact expected return (dynamic programming over the time limit),
the best achievable return, and vectorized greedy rollouts.
"""

from __future__ import annotations

import dataclasses

import numpy as np


# ------------------------------------------------------------------ environment tables
@dataclasses.dataclass(frozen=True)
class Tables:
    """A finite MDP as arrays: K = most outcomes of one (s, a); unused outcomes have p = 0."""

    prob: np.ndarray    # (S, A, K) float64
    nxt: np.ndarray     # (S, A, K) int64 next state
    rew: np.ndarray     # (S, A, K) float64 reward
    done: np.ndarray    # (S, A, K) bool terminal
    isd: np.ndarray     # (S,) initial state distribution
    horizon: int        # the env's time limit (steps an episode may last)
    desc: np.ndarray | None = None  # FrozenLake map letters (rows, cols)

    @property
    def n_states(self) -> int:
        return self.prob.shape[0]

    @property
    def n_actions(self) -> int:
        return self.prob.shape[1]


# ------------------------------------------------------------------ the article's rule
def q_update(q: list[float], a: int, r: float, q_next: list[float] | None, alpha: float,
             gamma: float) -> float:
    """The article's rule for one transition: Q ← (1−α)Q + α(r + γ max Q(s′,·)).

    `q` is Q(s,·) (updated in place), `q_next` is Q(s′,·) or None when s′ is terminal.
    """
    target = r if q_next is None else r + gamma * max(q_next)
    q[a] = (1.0 - alpha) * q[a] + alpha * target
    return q[a]


# ------------------------------------------------------------------ policies and returns
def exact_return(t: Tables, policy: np.ndarray) -> float:
    """Expected undiscounted return of a deterministic policy within the time limit (DP)."""
    idx = np.arange(t.n_states)
    p, n, r, d = (x[idx, policy] for x in (t.prob, t.nxt, t.rew, t.done))  # (S, K)
    v = np.zeros(t.n_states)
    for _ in range(t.horizon):
        v = (p * (r + np.where(d, 0.0, v[n]))).sum(axis=1)
    return float(t.isd @ v)


def optimal_return(t: Tables) -> float:
    """The best expected return any (time-dependent) policy reaches within the time limit."""
    v = np.zeros(t.n_states)
    for _ in range(t.horizon):
        v = (t.prob * (t.rew + np.where(t.done, 0.0, v[t.nxt]))).sum(axis=2).max(axis=1)
    return float(t.isd @ v)


def rollout(t: Tables, policy: np.ndarray, episodes: int, seed: int) -> np.ndarray:
    """Returns of `episodes` greedy episodes run side by side (vectorized)."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(t.prob, axis=2)
    s = rng.choice(t.n_states, size=episodes, p=t.isd)
    ret = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    for _ in range(t.horizon):
        a = policy[s]
        k = (rng.random(episodes)[:, None] >= cum[s, a]).sum(axis=1)
        k = np.minimum(k, t.prob.shape[2] - 1)
        ret += np.where(alive, t.rew[s, a, k], 0.0)
        alive &= ~t.done[s, a, k]
        s = t.nxt[s, a, k]
        if not alive.any():
            break
    return ret


def greedy(q: np.ndarray) -> np.ndarray:
    return np.argmax(q, axis=1)
