"""Train `mf`: shuffled mini-batch SGD of the article's update with geometric α decay
(each step as sparse matrix products: sgd.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import movielens
from reprozoo.metrics import check_finite
from reprozoo.runtime import cpu_threads, generator

from . import sgd
from .config import Config
from .model import BiasedMF, rmse


def rating_tensors(d: dict[str, Any], mask: np.ndarray, device: Any) -> tuple[torch.Tensor, ...]:
    """(user, item, rating) tensors of the ratings selected by `mask` (movielens.load's dict)."""
    return (torch.from_numpy(d["user"][mask]).to(device), torch.from_numpy(d["item"][mask]).to(device),
            torch.from_numpy(d["rating"][mask]).to(device))


def fit(cfg: Config, n_users: int, n_items: int, tr: tuple[torch.Tensor, ...],
        va: tuple[torch.Tensor, ...] | None, seed: int, device: Any = "cpu",
        log: Any = None, desc: str = "") -> BiasedMF:
    """Fit on train triples `tr` = (u, i, r); `log(epoch, train_rmse, valid_rmse)` per epoch.

    Each epoch draws a fresh random partition into batches of `batch_size` and takes one
    `BiasedMF.step` per batch, computed as sparse products (sgd.py); α, α_b decay by
    `lr_decay` after every epoch."""
    u, i, r = tr
    g = generator(seed)
    model = BiasedMF(cfg.model_config(), n_users, n_items, float(r.mean()), g, device)
    lr, lr_b = cfg.lr, cfg.lr if cfg.lr_bias is None else cfg.lr_bias
    reg_b = cfg.reg if cfg.reg_bias is None else cfg.reg_bias
    pb = progress.bar(cfg.epochs, desc=desc or "train mf", unit="epoch") if log else None
    # One CPU thread: the per-batch sparse kernels are too small to split (on the shared
    # 2-core benchmark machine two threads made a step up to 12× slower, each parallel
    # region waiting on a descheduled thread), and a fixed count keeps the fit
    # bit-identical on every machine.
    with cpu_threads(1 if torch.device(device).type == "cpu" else 0):
        A, C = sgd.pack(model)
        target = r - model.mu
        by_user, by_item = sgd.presort(u, i, n_items), sgd.presort(i, u, n_users)
        for epoch in range(1, cfg.epochs + 1):
            batches = sgd.shuffle(u, i, target, n_users, n_items, cfg.batch_size, g, by_user, by_item)
            sse = sgd.epoch(A, C, batches, lr, cfg.reg, lr_b, reg_b)
            check_finite(sse, epoch, "training squared error")
            lr *= cfg.lr_decay
            lr_b *= cfg.lr_decay
            if log is not None:
                sgd.unpack(A, C, model)
                tr_rmse = math.sqrt(sse / len(r))
                va_rmse = rmse(model, *va) if va is not None else float("nan")
                log(epoch, tr_rmse, va_rmse)
                pb.set_postfix(train_rmse=tr_rmse, valid_rmse=va_rmse)
                pb.update(1)
    if pb is not None:
        pb.close()
    return sgd.unpack(A, C, model)


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
