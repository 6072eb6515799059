"""Training the GAN: alternating Adam updates of D and G (`d_steps` D steps per G step),
with the optional remedies for mode collapse (DiffAugment, R1, label smoothing, hinge
loss, an EMA of G); per-epoch sample and loss figures; the checkpoint (G as sampled, D)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.metrics import check_finite
from reprozoo.runtime import cpu_threads, generator

from .config import Config
from .model import build_model, pack


def subset(x: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """A seeded subset (the training files may be ordered by class)."""
    if not limit or limit >= len(x):
        return x
    return x[torch.randperm(len(x), generator=generator(seed))[:limit].sort().values.to(x.device)]


# ------------------------------------------------------------------ augmentation
def diff_augment(x: torch.Tensor, policy: str, g: torch.Generator, background: float = -1.0,
                 shift: float = 0.125, cut: float = 0.5) -> torch.Tensor:
    """Differentiable augmentation of D's input, real and fake alike (Zhao et al. 2020,
    "Differentiable Augmentation for Data-Efficient GAN Training", policy names as theirs).

    With 4,500 training images D memorizes the real set and G's gradient stops carrying
    information about the missing classes; augmenting both D inputs the same way (and
    differentiably, so G is trained through it) keeps D from overfitting without changing
    the distribution G must match. `translation` shifts each image by up to `shift`·28
    pixels (filled with the background); `cutout` blanks one random `cut`·28 square.
    x: (B,1,H,W) in [-1,1]."""
    if policy == "none":
        return x
    B, _, H, W = x.shape
    dev = x.device
    if "translation" in policy:
        sh, sw = int(H * shift + 0.5), int(W * shift + 0.5)
        tx = torch.randint(-sh, sh + 1, (B, 1, 1), generator=g, device=g.device).to(dev)
        ty = torch.randint(-sw, sw + 1, (B, 1, 1), generator=g, device=g.device).to(dev)
        gb, gx, gy = torch.meshgrid(torch.arange(B, device=dev), torch.arange(H, device=dev),
                                    torch.arange(W, device=dev), indexing="ij")
        gx = (gx + tx + 1).clamp(0, H + 1)
        gy = (gy + ty + 1).clamp(0, W + 1)
        padded = F.pad(x, (1, 1, 1, 1), value=background)       # (B,1,H+2,W+2)
        x = padded[gb, 0, gx, gy].unsqueeze(1)                   # (B,1,H,W)
    if "cutout" in policy:
        ch, cw = int(H * cut + 0.5), int(W * cut + 0.5)
        # hole centre anywhere in the image (the square may stick out over the border)
        top = torch.randint(0, H, (B, 1, 1), generator=g, device=g.device).to(dev) - ch // 2
        left = torch.randint(0, W, (B, 1, 1), generator=g, device=g.device).to(dev) - cw // 2
        rows = torch.arange(H, device=dev)[None, :, None]
        cols = torch.arange(W, device=dev)[None, None, :]
        hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)  # (B,H,W)
        x = torch.where(hole.unsqueeze(1), torch.full_like(x, background), x)
    return x


# ------------------------------------------------------------------ losses
def d_loss_fn(real: torch.Tensor, fake: torch.Tensor, cfg: Config) -> torch.Tensor:
    """D's loss on logits: BCE (the article, Goodfellow et al. 2014) or hinge (Lim & Ye 2017)."""
    if cfg.loss == "hinge":
        return F.relu(cfg.real_label - real).mean() + F.relu(1.0 + fake).mean()
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, cfg.real_label))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def g_loss_fn(fake: torch.Tensor, cfg: Config) -> torch.Tensor:
    """G's loss: the non-saturating −log D(G(z)) for BCE, −D(G(z)) for hinge."""
    if cfg.loss == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def r1_penalty(D: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D(x), mean over the batch of ‖∇ₓD(x)‖²): the R1 term of Mescheder et al. 2018,
    "Which Training Methods for GANs do actually Converge?", on real images. Penalizing
    D's slope on the data keeps it from sharpening around the real points it has seen,
    the oscillation that makes G hop between modes; γ/2 times it is added to D's loss."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return out, grad.float().pow(2).flatten(1).sum(1).mean()


# ------------------------------------------------------------------ training
def fit(G: nn.Module, D: nn.Module, cfg: Config, x: torch.Tensor, ctx: Context,
        on_epoch: Callable[[int, nn.Module], None] | None = None) -> dict[str, Any]:
    """Alternating updates: `d_steps` D steps (each on a fresh real batch) per G step.

    One epoch = one pass of real images through D. Returns final losses and the fixed-z
    sample snapshots (one row of 10 per epoch) for the per-epoch figure. `on_epoch(epoch,
    G_sample)` is called after every epoch with the generator that is sampled (the EMA
    copy when `ema` is set), e.g. to score it."""
    g = generator(ctx.seed, ctx.device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    amp = ctx.runtime.is_cuda  # bf16 autocast on CUDA only
    z_fixed = torch.randn((10, cfg.z_dim), generator=g, device=g.device)
    G_ema = copy.deepcopy(G).eval() if cfg.ema else G  # the generator that is sampled
    snaps = []
    n_batches = max(1, len(x) // cfg.batch_size)
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        G.train(), D.train()
        order = torch.randperm(len(x), generator=g, device=g.device)
        sums = torch.zeros(5, device=x.device)  # d_loss, g_loss, D(real), D(fake), R1
        n_d = n_g = 0
        for bi in range(n_batches):
            real = x[order[bi * cfg.batch_size:(bi + 1) * cfg.batch_size]]
            z = torch.randn((len(real), cfg.z_dim), generator=g, device=g.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                real_in = pack(diff_augment(real, cfg.augment, g), cfg.pack)
                if cfg.r1_gamma:
                    lr_, r1 = r1_penalty(D, real_in)
                else:
                    lr_ = D(real_in)
                lr_ = lr_.float()
                lf = D(pack(diff_augment(G(z).detach(), cfg.augment, g), cfg.pack)).float()
            d_loss = d_loss_fn(lr_, lf, cfg)
            if cfg.r1_gamma:
                d_loss = d_loss + cfg.r1_gamma / 2 * r1
                sums[4] += r1.detach()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            sums[0] += d_loss.detach()
            sums[2] += torch.sigmoid(lr_.detach()).mean()
            sums[3] += torch.sigmoid(lf.detach()).mean()
            n_d += 1
            if (bi + 1) % cfg.d_steps:
                continue
            z = torch.randn((cfg.batch_size, cfg.z_dim), generator=g, device=g.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                lg = D(pack(diff_augment(G(z), cfg.augment, g), cfg.pack)).float()
            g_loss = g_loss_fn(lg, cfg)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            if cfg.ema:
                ema_update(G_ema, G, cfg.ema)
            sums[1] += g_loss.detach()
            n_g += 1
        s = sums.tolist()
        d_mean = check_finite(s[0] / n_d, epoch, "D loss")
        g_mean = check_finite(s[1] / max(n_g, 1), epoch, "G loss")
        extra = {"r1": s[4] / n_d} if cfg.r1_gamma else {}  # mean ‖∇D(real)‖² (d_loss has γ/2 of it)
        ctx.log_step(epoch, d_loss=d_mean, g_loss=g_mean, d_real=s[2] / n_d, d_fake=s[3] / n_d,
                     g_steps=n_g, **extra)
        G_ema.eval()
        with torch.no_grad():
            snaps.append(G_ema(z_fixed)[:, 0].cpu())
        if on_epoch is not None:
            on_epoch(epoch, G_ema)
        pb.set_postfix(d=d_mean, g=g_mean)
        pb.update(1)
    pb.close()
    return {"d_loss": d_mean, "g_loss": g_mean, "snapshots": snaps, "G_sample": G_ema}


@torch.no_grad()
def ema_update(avg: nn.Module, model: nn.Module, decay: float) -> None:
    """avg ← decay·avg + (1−decay)·model for parameters; BatchNorm running statistics are
    copied (they already are running averages). Yazıcı et al. 2019, "The Unusual
    Effectiveness of Averaging in GAN Training": the averaged generator oscillates less
    between modes than the last iterate."""
    for a, p in zip(avg.parameters(), model.parameters()):
        a.lerp_(p, 1.0 - decay)
    for a, b in zip(avg.buffers(), model.buffers()):
        a.copy_(b)


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    with cpu_threads(0 if ctx.runtime.is_cuda else cfg.cpu_threads):
        return _train(cfg, ctx)


def _train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, _ = mnist.to_tensors(ctx.data_dir, "train", ctx.device)
    x = subset(x, cfg.train_limit, ctx.seed) * 2 - 1  # [-1, 1] to match Tanh
    torch.manual_seed(ctx.seed)
    G, D = build_model(cfg.model_config())
    G, D = G.to(ctx.device), D.to(ctx.device)
    t0 = time.perf_counter()
    out = fit(G, D, cfg, x, ctx)
    secs = time.perf_counter() - t0
    ctx.tracker.log_metrics({"train_seconds": secs, "train_images_per_s": cfg.epochs * len(x) / secs})
    snaps = out.pop("snapshots")
    G_sample = out.pop("G_sample")
    rows = np.linspace(0, len(snaps) - 1, min(len(snaps), 10)).round().astype(int)
    plots.image_grid(torch.cat([snaps[r] for r in rows]).numpy(), ctx.report_dir / "samples_by_epoch.png",
                     ncols=10, titles=[f"ep {r + 1}" if c == 0 else "" for r in rows for c in range(10)],
                     title=f"{ctx.name}: fixed z, one row per epoch")
    groups = {"loss": ["d_loss", "g_loss"], "D output": ["d_real", "d_fake"]}
    if cfg.r1_gamma:
        groups[r"R1 term $\|\nabla_x D(x)\|^2$, real $x$"] = ["r1"]
    plots.learning_curves(ctx.history, ctx.report_dir / "loss_curves.png", groups=groups,
                          title=f"{ctx.name} ({cfg.arch}, {cfg.d_steps} D step(s) per G step"
                                + (f", R1 γ = {cfg.r1_gamma:g})" if cfg.r1_gamma else ")"))
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"G": G_sample.state_dict(), "D": D.state_dict()})
    return out
