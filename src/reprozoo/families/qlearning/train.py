"""Train `ql_*`: ε-greedy Q-learning through the environment's tables with a private
`random.Random(seed)`, ε and α decaying linearly; the learning curve holds the exact
expected return of the greedy policy at every `eval_every` episodes."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.metrics import check_finite

from .config import Config
from .env import make_tables
from .model import Tables, exact_return, greedy, q_update


# ------------------------------------------------------------------ learning
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
    """Inverse-CDF sampling: the first k with u < cum[k]."""
    for k, c in enumerate(cum):
        if u < c:
            return k
    return len(cum) - 1  # u ≥ rounding-short total


# ------------------------------------------------------------------ the train stage
def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    t = make_tables(cfg.env_id, cfg.map_name, cfg.is_slippery)
    solved_at: list[int] = []
    pb = progress.bar(cfg.episodes, desc=f"train {ctx.name}", unit="episode")

    def on_eval(ep: int, q: np.ndarray, returns: list[float]) -> None:
        check_finite(float(np.abs(q).max()), ep, "max |Q|")
        exact = exact_return(t, greedy(q))
        pb.update(ep - pb.n)
        pb.set_postfix(train_return=float(np.mean(returns)), greedy_return=exact)
        if exact >= cfg.threshold and not solved_at:
            solved_at.append(ep)
        ctx.log_step(ep, train_return=float(np.mean(returns)), greedy_return=exact)

    q = q_learning(t, cfg, ctx.seed, on_eval)
    pb.close()
    if ctx.history:
        plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                              groups={"return": ["train_return", "greedy_return"]},
                              title=f"Q-learning on {env_label(cfg)}")
    if t.desc is not None:
        value_map(q, t.desc, ctx.report_dir / "state_values.png", f"max_a Q(s,a), {env_label(cfg)}")
    exact = exact_return(t, greedy(q))
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"q": torch.from_numpy(q)},
                    meta={"episodes_to_threshold": solved_at[0] if solved_at else -1})
    return {"greedy_return_exact": exact, "episodes_to_threshold": solved_at[0] if solved_at else -1}


# ------------------------------------------------------------------ figures
def env_label(cfg: Config) -> str:
    """The environment as plot titles name it ("FrozenLake-v1 4x4", "Taxi-v3")."""
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
