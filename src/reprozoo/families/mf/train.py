"""Train `mf`: shuffled mini-batch SGD of the article's update with geometric α decay."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import movielens
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator

from .config import Config
from .model import BiasedMF, rmse


def rating_tensors(d: dict[str, Any], mask: np.ndarray, device: Any) -> tuple[torch.Tensor, ...]:
    """(user, item, rating) tensors of the ratings selected by `mask` (movielens.load's dict)."""
    return (torch.from_numpy(d["user"][mask]).to(device), torch.from_numpy(d["item"][mask]).to(device),
            torch.from_numpy(d["rating"][mask]).to(device))


def fit(cfg: Config, n_users: int, n_items: int, tr: tuple[torch.Tensor, ...],
        va: tuple[torch.Tensor, ...] | None, seed: int, device: Any = "cpu",
        log: Any = None, desc: str = "") -> BiasedMF:
    """Fit on train triples `tr` = (u, i, r); `log(epoch, train_rmse, valid_rmse)` per epoch."""
    u, i, r = tr
    g = generator(seed)
    model = BiasedMF(cfg.model_config(), n_users, n_items, float(r.mean()), g, device)
    lr, lr_b = cfg.lr, cfg.lr if cfg.lr_bias is None else cfg.lr_bias
    pb = progress.bar(cfg.epochs, desc=desc or "train mf", unit="epoch") if log else None
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(len(r), generator=g).to(device)
        sse = 0.0
        for s in range(0, len(r), cfg.batch_size):
            b = order[s:s + cfg.batch_size]
            sse += model.step(u[b], i[b], r[b], lr, cfg.reg, lr_b, cfg.reg_bias)
        check_finite(sse, epoch, "training squared error")
        lr *= cfg.lr_decay
        lr_b *= cfg.lr_decay
        if log is not None:
            tr_rmse = math.sqrt(sse / len(r))
            va_rmse = rmse(model, *va) if va is not None else float("nan")
            log(epoch, tr_rmse, va_rmse)
            pb.set_postfix(train_rmse=tr_rmse, valid_rmse=va_rmse)
            pb.update(1)
    if pb is not None:
        pb.close()
    return model


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    d = movielens.load(ctx.data_dir)
    n_users, n_items = len(d["user_ids"]), len(d["item_ids"])
    tr, te = rating_tensors(d, ~d["test"], ctx.device), rating_tensors(d, d["test"], ctx.device)

    def log(epoch: int, train_rmse: float, valid_rmse: float) -> None:
        ctx.log_step(epoch, train_rmse=train_rmse, valid_rmse=valid_rmse)

    # The 80/20 test part doubles as the curve's validation set: no early stopping or
    # tuning reads it inside a run (epochs are fixed in params.yaml).
    model = fit(cfg, n_users, n_items, tr, te, ctx.seed, ctx.device, log)
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          groups={"RMSE": ["train_rmse", "valid_rmse"]},
                          title=f"{ctx.name}: Funk-SVD k={cfg.factors}, λ={cfg.reg}")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=model.state(),
                    meta={"n_users": n_users, "n_items": n_items})
    last = ctx.history[-1]
    return {"train_rmse": last["train_rmse"], "valid_rmse": last["valid_rmse"]}
