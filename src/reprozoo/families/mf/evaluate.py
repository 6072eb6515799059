"""Evaluate `mf`: RMSE/MAE on the 80/20 test split, the global-mean and bias-only
baselines, the error histogram, and the 5-fold protocol of Surprise's published table."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.checkpoint import Checkpoint
from reprozoo.context import Context
from reprozoo.data import movielens

from .config import Config
from .model import BiasedMF, rmse
from .train import fit, rating_tensors


def load_model(path: str | os.PathLike, family: str = "mf",
               device: Any = "cpu") -> tuple[BiasedMF, Checkpoint[Config]]:
    """The trained model at `path`, its parameters checked against its saved config."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    k = ck.config.model_config().factors
    n_users = len(checkpoint.tensor(ck.state, "bu", None, path))
    n_items = len(checkpoint.tensor(ck.state, "bi", None, path))
    for key, shape in (("mu", ()), ("P", (n_users, k)), ("Q", (n_items, k))):
        checkpoint.tensor(ck.state, key, shape, path)
    return BiasedMF.from_state(ck.state, device), ck


def baselines(tr: tuple[torch.Tensor, ...], te: tuple[torch.Tensor, ...], cfg: Config,
              n_users: int, n_items: int, seed: int, device: Any) -> dict[str, float]:
    """Global mean and the bias-only model (k = 0, same optimizer) on one split."""
    mu = float(tr[2].mean())
    out = {"global_mean": float(((te[2] - mu) ** 2).mean().sqrt())}
    bias = fit(dataclasses.replace(cfg, factors=0), n_users, n_items, tr, None, seed, device)
    out["bias_only"] = rmse(bias, *te)
    return out


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    model, _ = load_model(ctx.model_path, ctx.name, ctx.device)
    d = movielens.load(ctx.data_dir)
    n_users, n_items = len(d["user_ids"]), len(d["item_ids"])
    tr, te = rating_tensors(d, ~d["test"], ctx.device), rating_tensors(d, d["test"], ctx.device)
    with torch.no_grad():
        err = (model.predict(te[0], te[1]) - te[2]).cpu().numpy()
    out: dict[str, Any] = {"split_80_20": {"rmse": float(np.sqrt((err ** 2).mean())),
                                           "mae": float(np.abs(err).mean()),
                                           **baselines(tr, te, cfg, n_users, n_items, ctx.seed, ctx.device)},
                           "n_train": int(len(tr[2])), "n_test": int(len(te[2]))}
    fig, ax = plots.figure(figsize=(6, 3.6))
    ax.hist(err, bins=np.linspace(-4, 4, 65), color="tab:blue")
    ax.set_xlabel("predicted − true rating")
    ax.set_ylabel("test ratings")
    ax.set_title(f"{ctx.name}: 80/20 test RMSE {out['split_80_20']['rmse']:.4f}")
    ax.grid(alpha=0.3)
    plots.savefig(fig, ctx.report_dir / "rating_error_hist.png")
    if cfg.cv_folds:
        out["cv"] = cross_validate(cfg, d, ctx.seed, ctx.device)
    return out


def cross_validate(cfg: Config, d: dict[str, Any], seed: int, device: Any) -> dict[str, Any]:
    """The 5-fold protocol: train on four folds, score the fifth; mean and per-fold RMSE
    for the model and both baselines."""
    n_users, n_items = len(d["user_ids"]), len(d["item_ids"])
    folds = sorted(set(d["fold"].tolist()))
    per: dict[str, list[float]] = {"rmse": [], "global_mean": [], "bias_only": []}
    for f in progress.track(folds, desc="5-fold mf", unit="fold"):
        tr, te = rating_tensors(d, d["fold"] != f, device), rating_tensors(d, d["fold"] == f, device)
        model = fit(cfg, n_users, n_items, tr, None, seed + 1 + f, device)
        per["rmse"].append(rmse(model, *te))
        for k, v in baselines(tr, te, cfg, n_users, n_items, seed + 1 + f, device).items():
            per[k].append(v)
    return {"n_folds": len(folds), **{f"{k}_mean": float(np.mean(v)) for k, v in per.items()},
            "rmse_std": float(np.std(per["rmse"])), "rmse_per_fold": per["rmse"]}
