"""Scoring the VAE: the test loss (one posterior sample), the IWAE estimate of the test
NLL, reconstructions, samples from the prior and the 2-d latent scatter."""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.runtime import generator

from .config import Config
from .model import VAE


@torch.no_grad()
def test_loss(model: VAE, x: torch.Tensor, seed: int, batch: int = 2000) -> float:
    """Mean summed BCE+KL per image with one posterior sample (pytorch/examples' test loss)."""
    model.eval()
    g = generator(seed, x.device)
    tot = 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        eps = torch.randn((len(xb), model.fc_mu.out_features), generator=g, device=g.device)
        tot += float(model(xb, eps)[1].sum())
    return tot / len(x)


@torch.no_grad()
def iwae_nll(model: VAE, x: torch.Tensor, k: int, seed: int, chunk: int = 100) -> torch.Tensor:
    """−log p(x) ≈ −log (1/k) Σ_s p(x|z_s) p(z_s) / q(z_s|x), z_s ~ q(z|x): (N,) nats.

    Note: the likelihood is Bernoulli on grey levels (as the training loss), so the
    numbers compare with the BCE+KL loss, not with binarized-MNIST NLLs in the literature."""
    model.eval()
    g = generator(seed, x.device)
    out = []
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk].flatten(1)  # (B, 784)
        mu, logvar = model.encode(xb)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k, *mu.shape), generator=g, device=g.device)  # (k, B, L)
        z = mu + std * eps
        log_q = (-0.5 * eps.pow(2) - 0.5 * logvar - half_log_2pi).sum(-1)  # (k, B)
        log_prior = (-0.5 * z.pow(2) - half_log_2pi).sum(-1)
        logits = model.decode(z)  # (k, B, 784)
        log_lik = -F.binary_cross_entropy_with_logits(logits, xb.expand_as(logits), reduction="none").sum(-1)
        log_w = log_lik + log_prior - log_q
        out.append(-(torch.logsumexp(log_w, 0) - math.log(k)))
    return torch.cat(out)


def load_model(path: str | os.PathLike, family: str = "vae", device: Any = "cpu") -> tuple[VAE, VAE | None]:
    """(the main model in eval mode, the 2-d latent model or None), rebuilt from the
    checkpoint's own config."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    model = VAE(ck.config.model_config()).to(device)
    checkpoint.restore(model, ck.state.get("main", {}), ck.path)
    model2 = None
    if ck.config.latent2_epochs:
        model2 = VAE(ck.config.latent2_model_config()).to(device)
        checkpoint.restore(model2, ck.state.get("latent2", {}), f"{ck.path} (2-d latent)")
    return model.eval(), model2


@torch.no_grad()
def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    model, model2 = load_model(ctx.model_path, ctx.name, ctx.device)
    x, y = mnist.to_tensors(ctx.data_dir, "test", ctx.device)
    out: dict[str, Any] = {"test_loss": test_loss(model, x, ctx.seed + 2), "n_test": int(len(x))}
    xi = x[:cfg.iwae_limit] if cfg.iwae_limit else x
    t0 = time.perf_counter()
    out["test_nll_iwae"] = float(iwae_nll(model, xi, cfg.iwae_k, ctx.seed + 3).mean())
    ctx.tracker.log_metrics({"iwae_seconds": time.perf_counter() - t0})
    out.update(iwae_k=cfg.iwae_k, iwae_n=int(len(xi)))
    # reconstructions: rows of inputs, then their posterior-mean reconstructions
    mu, _ = model.encode(x[:20])
    rec = torch.sigmoid(model.decode(mu)).view(-1, 28, 28)
    plots.image_grid(torch.cat([x[:10, 0], rec[:10], x[10:20, 0], rec[10:20]]).cpu().numpy(),
                     ctx.report_dir / "reconstructions.png", ncols=10,
                     title="test inputs (rows 1, 3) and reconstructions (rows 2, 4)")
    z = torch.randn((100, model.fc_mu.out_features), generator=generator(ctx.seed + 4, ctx.device),
                    device=ctx.device)  # (100, latent_dim)
    plots.image_grid(torch.sigmoid(model.decode(z)).view(-1, 28, 28).cpu().numpy(),
                     ctx.report_dir / "prior_samples.png", ncols=10, title="samples from the prior")
    if model2 is not None:
        out["test_loss_latent2"] = test_loss(model2, x, ctx.seed + 2)
        latent_scatter(model2, x, y, ctx.report_dir / "latent2_scatter.png")
    return out


def latent_scatter(model: VAE, x: torch.Tensor, y: torch.Tensor, path: Any) -> None:
    mu, _ = model.encode(x)
    mu, lab = mu.cpu().numpy(), y.cpu().numpy()
    fig, ax = plots.figure(figsize=(6, 5.2))
    sc = ax.scatter(mu[:, 0], mu[:, 1], c=lab, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax, ticks=np.arange(10), label="digit")
    ax.set_xlabel("$z_1$ (posterior mean)")
    ax.set_ylabel("$z_2$")
    ax.set_title("2-d latent space of the test set")
    plots.savefig(fig, path)
