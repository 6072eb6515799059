"""Tabular Q-learning on gymnasium's toy-text worlds: FrozenLake 4×4 and 8×8 (slippery)
and Taxi (families `ql_frozenlake4`, `ql_frozenlake8`, `ql_taxi`).

Source: seed article 004's update `Q(s,a) ← (1−α)Q(s,a) + α(r + γ max_a' Q(s',a'))` with
ε-greedy exploration (Watkins & Dayan, "Q-learning", Machine Learning 8, 1992). The
environment's own transition table (`env.unwrapped.P`, the same dynamics `env.step`
samples) is copied into arrays once; training then steps through it with a private
`random.Random(seed)` (identical Q-table for a seed), and evaluation runs the greedy
policy's `eval_episodes` episodes at once with NumPy under the env's time limit. Each
learning-curve point also holds the *exact* expected return of the current greedy policy
(finite-horizon dynamic programming over the same table), so "episodes needed to pass the
threshold" is free of Monte-Carlo noise, and the report gives the best achievable return
(`optimal_return`) for comparison: for Taxi it lies below gymnasium's "solved" 8, so no
policy can meet that target.

Results: reports/README.md, rows ql_frozenlake4, ql_frozenlake8 and ql_taxi
(`dvc repro evaluate@ql_frozenlake4 evaluate@ql_frozenlake8 evaluate@ql_taxi`).

    config.py    Config (the params.yaml sections ql_frozenlake4, ql_frozenlake8, ql_taxi)
    env.py       the supported environments, gymnasium's tables → arrays (`Tables`)
    model.py     the update rule, greedy policy, exact/optimal returns, rollouts
    train.py     the ε-greedy Q-learning loop, the train stage, the value map
    evaluate.py  load_model, greedy rollouts, the return histogram
"""

from .config import Config

__all__ = ["Config"]
