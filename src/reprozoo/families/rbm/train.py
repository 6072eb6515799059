"""Training the RBM: momentum SGD on CD-k or PCD-k statistics, the whole (binarized)
training set held as one device tensor; learning curve and filter figures; the checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator

from .config import Config
from .model import RBM, bernoulli, cd_gradient


def binarize(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Stochastic binarization (one fixed draw, seeded) of (N,1,28,28) in [0,1] → (N,784)."""
    return bernoulli(x.flatten(1), g)


def load_split(ctx: Context, split: str, limit: int, seed_offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = mnist.to_tensors(ctx.data_dir, split, ctx.device)
    if limit and limit < len(x):  # a seeded subset: the files may be ordered by class
        keep = torch.randperm(len(x), generator=generator(ctx.seed + seed_offset))[:limit].sort().values
        x, y = x[keep.to(x.device)], y[keep.to(y.device)]
    return binarize(x, generator(ctx.seed + seed_offset, ctx.device)), y


def step_size(cfg: Config, epoch: int) -> float:
    """The SGD step size of `epoch` (1-based): constant, or decayed linearly (PCD needs the
    decay: its persistent chains only follow a slowly moving model)."""
    if cfg.lr_schedule == "linear":
        return cfg.lr * (1.0 - (epoch - 1) / cfg.epochs)
    return cfg.lr


def fit(rbm: RBM, cfg: Config, x: torch.Tensor, ctx: Context) -> dict[str, float]:
    """Momentum SGD on CD-k (chains restart at the batch) or PCD-k (persistent chains)."""
    g = generator(ctx.seed, ctx.device)
    vel = [torch.zeros_like(t) for t in (rbm.W, rbm.b, rbm.c)]
    chains = bernoulli(torch.full((cfg.batch_size, x.shape[1]), 0.5, device=x.device), g)
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(len(x), generator=g, device=g.device).to(x.device)
        err = torch.zeros((), device=x.device)
        mom = cfg.momentum if epoch > 5 else min(cfg.momentum, 0.5)  # Hinton 2010 §9
        lr = step_size(cfg, epoch)
        for i in range(0, len(x), cfg.batch_size):
            v0 = x[order[i:i + cfg.batch_size]]
            start = chains[: len(v0)] if cfg.persistent else v0
            grads, vk = cd_gradient(rbm, v0, start, cfg.k, g)
            if cfg.persistent:
                chains[: len(v0)] = vk
            grads = (grads[0] - cfg.weight_decay * rbm.W, grads[1], grads[2])
            for t, v, d in zip((rbm.W, rbm.b, rbm.c), vel, grads):
                v.mul_(mom).add_(d, alpha=lr)
                t.add_(v)
            err += rbm.reconstruction_error(v0).sum()
        recon = check_finite(float(err) / len(x), epoch, "reconstruction error")
        ctx.log_step(epoch, recon_error=recon)
        pb.set_postfix(recon=recon)
        pb.update(1)
    pb.close()
    return {"train_recon_error": recon}


def filters_figure(rbm: RBM, path: Path) -> None:
    """The first 100 hidden units' weights as 28×28 images (train and evaluate draw it)."""
    plots.image_grid(rbm.W.T[:100].reshape(-1, 28, 28).cpu().numpy(), path,
                     ncols=10, cmap="bwr", symmetric=True, title="hidden-unit weights (first 100)")


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, _ = load_split(ctx, "train", cfg.train_limit, 1)
    rbm = RBM.init(cfg.model_config(), generator(ctx.seed), ctx.device, visible_mean=x.mean(0))
    t0 = time.perf_counter()
    with torch.no_grad():
        final = fit(rbm, cfg, x, ctx)
    ctx.tracker.log_metrics({"train_seconds": time.perf_counter() - t0})
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          groups={"reconstruction error": ["recon_error"]},
                          title=f"{ctx.name}: {'PCD' if cfg.persistent else 'CD'}-{cfg.k}")
    filters_figure(rbm, ctx.report_dir / "filters.png")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=rbm.state())
    return final
