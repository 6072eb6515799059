"""Evaluate `ql_*`: the greedy policy of the saved Q-table over many episodes at once
(NumPy, under the env's time limit), its exact expected return and the best achievable
return by dynamic programming, the return histogram and (FrozenLake) the value map."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from reprozoo import checkpoint, plots
from reprozoo.checkpoint import Checkpoint
from reprozoo.context import Context

from .config import Config
from .env import make_tables
from .model import Tables, exact_return, greedy, optimal_return, rollout
from .train import env_label, value_map


def load_model(path: str | os.PathLike, family: str) -> tuple[np.ndarray, Tables, Checkpoint[Config]]:
    """The saved Q-table (S, A), the tables of the environment it was trained on (from the
    saved config) and the checkpoint."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    t = make_tables(ck.config.env_id, ck.config.map_name, ck.config.is_slippery)
    q = checkpoint.tensor(ck.state, "q", (t.n_states, t.n_actions), path).numpy()
    return q, t, ck


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    q, t, ck = load_model(ctx.model_path, ctx.name)
    pol = greedy(q)
    ret = rollout(t, pol, cfg.eval_episodes, ctx.seed)
    if t.desc is not None:
        value_map(q, t.desc, ctx.report_dir / "state_values.png", f"max_a Q(s,a), {env_label(ck.config)}")
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
            "episodes_to_threshold": int(ck.meta.get("episodes_to_threshold", -1))}
