"""Training numpy_net: plain mini-batch gradient descent on the batch-mean ½·MSE, every
gradient hand-written in NumPy (`model.Network.train_step`), no torch autograd."""

from __future__ import annotations

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.metrics import check_finite, check_not_diverged

from .config import Config
from .model import Network, accuracy, center_crop, mse, random_crop


def train(cfg: Config, ctx: Context) -> dict:
    x_tr, y_tr = mnist.load(ctx.data_dir, "train")
    x_va, y_va = mnist.load(ctx.data_dir, "valid")
    if cfg.train_limit:
        x_tr, y_tr = x_tr[: cfg.train_limit], y_tr[: cfg.train_limit]
    rng = np.random.default_rng(ctx.seed)
    net = Network(cfg.model_config().sizes(), rng, dtype=np.float32)
    onehot = np.eye(10, dtype=np.float32)[y_tr]
    xva = center_crop(x_va)
    onehot_va = np.eye(10, dtype=np.float32)[y_va]
    start_loss = mse(net.forward(xva), onehot_va)
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        xb_all = random_crop(x_tr, rng) if cfg.augment else center_crop(x_tr)
        order = rng.permutation(len(x_tr))
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            b = order[i:i + cfg.batch_size]
            total += net.train_step(xb_all[b], onehot[b], cfg.lr) * len(b)
        loss = check_finite(total / len(order), epoch)
        val_loss = mse(net.forward(xva), onehot_va)
        ctx.log_step(epoch, loss=loss, val_loss=val_loss, val_acc=accuracy(net, xva, y_va))
        pb.set_postfix(loss=loss, val_loss=val_loss, val_acc=ctx.history[-1]["val_acc"])
        pb.update(1)
    pb.close()
    check_not_diverged(start_loss, val_loss, "validation loss")
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          title="numpy_net 576-100-10 (sigmoid, MSE)")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={k: torch.from_numpy(v.copy()) for k, v in net.state().items()})
    last = ctx.history[-1]
    return {"loss": last["loss"], "val_acc": last["val_acc"]}
