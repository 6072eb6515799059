"""Tabular Q-learning on gymnasium's toy-text worlds: FrozenLake 4×4 and 8×8 (slippery)
and Taxi (families `ql_frozenlake4`, `ql_frozenlake8`, `ql_taxi`).

Source: seed article 004's update `Q(s,a) ← (1−α)Q(s,a) + α(r + γ max_a' Q(s',a'))` with
ε-greedy exploration (Watkins & Dayan, "Q-learning", Machine Learning 8, 1992). The
environment's own transition table (`env.unwrapped.P`, the same dynamics `env.step`
samples) is copied into arrays once; training then steps through it with a private
`random.Random(seed)` (identical Q-table for a seed), and evaluation runs 10,000 greedy
episodes at once with NumPy under the env's time limit. Each learning-curve point also
holds the *exact* expected return of the current greedy policy (finite-horizon dynamic
programming over the same table), so "episodes needed to pass the threshold" is free of
Monte-Carlo noise, and the report gives the best achievable return for comparison.

Default profile (seed 0), measured with `python pipelines/train.py <name> --params P` then
`python pipelines/evaluate.py <name> --params P` (P = params.yaml merged with
conf/params-D2.yaml); mean return of the greedy policy over 10,000 episodes ± standard error
(exact expected return by DP / best achievable within the time limit):

    ql_frozenlake4   0.7495 ± 0.0043  (0.7402 / 0.7442)   20,000 episodes, threshold 0.70 at 2,000
    ql_frozenlake8   0.8823 ± 0.0032  (0.8857 / 0.9132)   40,000 episodes, threshold 0.85 at 9,000
    ql_taxi          7.945  ± 0.026   (7.930 / 7.930)      5,000 episodes, 7.9 at 750

Taxi's best achievable mean return is 7.93 (exact DP over the 300 start states, confirmed by
Monte Carlo), so gymnasium's "solved" 8 and a target of 8.3 cannot be met by any policy.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.errors import ConfigError
from reprozoo.metrics import check_finite

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


def make_tables(env_id: str, map_name: str = "4x4", is_slippery: bool = True) -> Tables:
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


# ------------------------------------------------------------------ learning
def q_update(q: list[float], a: int, r: float, q_next: list[float] | None, alpha: float,
             gamma: float) -> float:
    """The article's rule for one transition: Q ← (1−α)Q + α(r + γ max Q(s′,·)).

    `q` is Q(s,·) (updated in place), `q_next` is Q(s′,·) or None when s′ is terminal.
    """
    target = r if q_next is None else r + gamma * max(q_next)
    q[a] = (1.0 - alpha) * q[a] + alpha * target
    return q[a]


def q_learning(t: Tables, cfg: Config, seed: int, on_eval: Any = None) -> np.ndarray:
    """Train a Q-table (S, A) with ε-greedy Q-learning; `on_eval(episode, q, returns)` is
    called every `cfg.eval_every` episodes with the returns of the episodes since."""
    rnd = random.Random(seed)
    S, A = t.n_states, t.n_actions
    q = [[cfg.q_init] * A for _ in range(S)]
    # Per (s, a): cumulative probabilities and outcomes, as Python lists (fast to index).
    cum = np.cumsum(t.prob, axis=2).tolist()
    outcomes = [[list(zip(t.nxt[s, a].tolist(), t.rew[s, a].tolist(), t.done[s, a].tolist()))
                 for a in range(A)] for s in range(S)]
    isd_cum = np.cumsum(t.isd).tolist()
    n_decay = max(1, int(cfg.decay_fraction * cfg.episodes))
    returns: list[float] = []
    for ep in range(cfg.episodes):
        frac = min(1.0, ep / n_decay)
        eps = cfg.eps_start + (cfg.eps_end - cfg.eps_start) * frac
        alpha = cfg.alpha + (cfg.alpha_end - cfg.alpha) * frac
        s = _pick(isd_cum, rnd.random())
        total = 0.0
        for _ in range(t.horizon):
            qs = q[s]
            if rnd.random() < eps:
                a = rnd.randrange(A)
            else:
                best = max(qs)
                a = qs.index(best)  # ties → lowest action (deterministic)
            s2, r, d = outcomes[s][a][_pick(cum[s][a], rnd.random())]
            q_update(qs, a, r, None if d else q[s2], alpha, cfg.gamma)
            total += r
            s = s2
            if d:
                break
        returns.append(total)
        if on_eval is not None and (ep + 1) % cfg.eval_every == 0:
            on_eval(ep + 1, np.asarray(q), returns)
            returns = []
    return np.asarray(q)


def _pick(cum: list[float], u: float) -> int:
    for k, c in enumerate(cum):
        if u < c:
            return k
    return len(cum) - 1  # u ≥ rounding-short total


# ------------------------------------------------------------------ evaluation
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


# ------------------------------------------------------------------ family
def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    t = make_tables(cfg.env_id, cfg.map_name, cfg.is_slippery)
    solved_at: list[int] = []

    def on_eval(ep: int, q: np.ndarray, returns: list[float]) -> None:
        check_finite(float(np.abs(q).max()), ep, "max |Q|")
        exact = exact_return(t, greedy(q))
        if exact >= cfg.threshold and not solved_at:
            solved_at.append(ep)
        ctx.log_step(ep, train_return=float(np.mean(returns)), greedy_return=exact)

    q = q_learning(t, cfg, ctx.seed, on_eval)
    if ctx.history:
        plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                              groups={"return": ["train_return", "greedy_return"]},
                              title=f"Q-learning on {_label(cfg)}")
    if t.desc is not None:
        value_map(q, t.desc, ctx.report_dir / "state_values.png", f"max_a Q(s,a), {_label(cfg)}")
    exact = exact_return(t, greedy(q))
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"q": torch.from_numpy(q)},
                    meta={"episodes_to_threshold": solved_at[0] if solved_at else -1})
    return {"greedy_return_exact": exact, "episodes_to_threshold": solved_at[0] if solved_at else -1}


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    blob = checkpoint.load(ctx.model_path, family=ctx.name)
    t = make_tables(cfg.env_id, cfg.map_name, cfg.is_slippery)
    q = blob["state"]["q"].numpy()
    if q.shape != (t.n_states, t.n_actions):
        from reprozoo.errors import CheckpointError
        raise CheckpointError(f"{ctx.model_path}: Q-table {tuple(q.shape)} does not fit "
                              f"{cfg.env_id} ({t.n_states} states, {t.n_actions} actions)")
    pol = greedy(q)
    ret = rollout(t, pol, cfg.eval_episodes, ctx.seed)
    if t.desc is not None:
        value_map(q, t.desc, ctx.report_dir / "state_values.png", f"max_a Q(s,a), {_label(cfg)}")
    fig, ax = plots.figure(figsize=(5, 3.5))
    values, counts = np.unique(ret, return_counts=True)
    ax.bar(values, counts / len(ret), width=0.8 * (np.diff(values).min() if len(values) > 1 else 1.0))
    ax.set_xlabel("episode return")
    ax.set_ylabel("share of episodes")
    ax.set_title(f"greedy policy, {len(ret)} episodes: {ret.mean():.4f} ± {ret.std(ddof=1) / math.sqrt(len(ret)):.4f}")
    plots.savefig(fig, ctx.report_dir / "returns.png")
    return {"mean_return": float(ret.mean()),
            "stderr": float(ret.std(ddof=1) / math.sqrt(len(ret))) if len(ret) > 1 else 0.0,
            "episodes": len(ret),
            "expected_return_exact": exact_return(t, pol),
            "optimal_return": optimal_return(t),
            "threshold": cfg.threshold,
            "episodes_to_threshold": int(blob["meta"].get("episodes_to_threshold", -1))}


def _label(cfg: Config) -> str:
    return f"{cfg.env_id} {cfg.map_name}" if cfg.env_id == "FrozenLake-v1" else cfg.env_id


def value_map(q: np.ndarray, desc: np.ndarray, path: Any, title: str) -> None:
    """Heat map of V(s) = max_a Q(s,a) on the lake, with the greedy action as an arrow."""
    rows, cols = desc.shape
    v = q.max(axis=1).reshape(rows, cols)
    arrows = "←↓→↑"  # FrozenLake actions 0..3
    fig, ax = plots.figure(figsize=(0.6 * cols + 1.5, 0.6 * rows + 0.6))
    im = ax.imshow(v, cmap="viridis")
    fig.colorbar(im, ax=ax, label="V(s)")
    for i in range(rows):
        for j in range(cols):
            c = desc[i, j]
            label = c if c in "HG" else arrows[int(np.argmax(q[i * cols + j]))]
            ax.text(j, i, label, ha="center", va="center", fontsize=9,
                    color="red" if c == "H" else "white")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    plots.savefig(fig, path)
