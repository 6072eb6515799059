"""Variational autoencoder on MNIST: the 784-400-20 network of pytorch/examples `vae`
(Kingma & Welling 2014, "Auto-Encoding Variational Bayes"; the seed article 004).

Encoder 784→400 (ReLU)→(μ, log σ²) ∈ R^20, reparameterized z = μ + σ·ε, decoder
20→400 (ReLU)→784 Bernoulli logits. Loss per image = summed BCE + KL(q(z|x) ‖ N(0, I)),
on [0,1] grey levels as in pytorch/examples (anchor: ≈104 after 10 epochs on full MNIST;
target ≤100). The test NLL is also estimated by importance weighting (Burda et al. 2016,
IWAE bound with k samples). A second, 2-d latent model is trained in the same stage for
the latent scatter figure; both are stored in one checkpoint.

Default profile (mnist-5k, 2-core CPU), measured with
`python pipelines/train.py vae && python pipelines/evaluate.py vae` (merged params):
test loss 117.1 nats/image (30 epochs on 4,500 images), IWAE (k=100, 2,000 test images)
NLL 112.3; the 2-d latent model 171.5.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int = param(400, gt=0)
    latent_dim: int = param(20, gt=0)
    epochs: int = param(10, gt=0)
    batch_size: int = param(128, gt=0)
    lr: float = param(1e-3, gt=0.0, doc="Adam step size")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")
    latent2_epochs: int = param(10, ge=0, doc="epochs of the extra 2-d latent model (0 = none)")
    iwae_k: int = param(1000, gt=0, doc="importance samples per test image")
    iwae_limit: int = param(0, ge=0, doc="IWAE on at most this many test images (0 = all)")


class VAE(nn.Module):
    def __init__(self, hidden: int = 400, latent: int = 20):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x.flatten(1)))  # (B, hidden)
        return self.fc_mu(h), self.fc_logvar(h)  # (B, latent) each

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits (…, 784)."""
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, loss per image): BCE summed over pixels + KL to N(0, I)."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decode(z)
        bce = F.binary_cross_entropy_with_logits(logits.float(), x.flatten(1), reduction="none").sum(1)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).float().sum(1)
        return logits, bce + kl


def subset(x: torch.Tensor, y: torch.Tensor, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded subset (the training files may be ordered by class)."""
    if not limit or limit >= len(x):
        return x, y
    keep = torch.randperm(len(x), generator=generator(seed))[:limit].sort().values.to(x.device)
    return x[keep], y[keep]


def fit(model: VAE, cfg: Config, x: torch.Tensor, xv: torch.Tensor, ctx: Context, epochs: int,
        tag: str) -> dict[str, float]:
    g = generator(ctx.seed, ctx.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    amp = ctx.runtime.is_cuda  # bf16 autocast on CUDA only; the loss is summed in fp32
    pb = progress.bar(epochs, desc=f"train {ctx.name}{tag}", unit="epoch")
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=g, device=g.device)
        total = torch.zeros((), device=x.device)
        for i in range(0, len(x), cfg.batch_size):
            xb = x[order[i:i + cfg.batch_size]]
            eps = torch.randn((len(xb), model.fc_mu.out_features), generator=g, device=g.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                _, loss = model(xb, eps)
            opt.zero_grad(set_to_none=True)
            loss.mean().backward()
            opt.step()
            total += loss.detach().sum()
        train_loss = check_finite(float(total) / len(x), epoch)
        valid_loss = float(test_loss(model, xv, ctx.seed + 1))
        ctx.log_step(epoch, **{f"train_loss{tag}": train_loss, f"valid_loss{tag}": valid_loss})
        pb.set_postfix(loss=train_loss, val=valid_loss)
        pb.update(1)
    pb.close()
    return {f"train_loss{tag}": train_loss, f"valid_loss{tag}": valid_loss}


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


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, y = subset(*mnist.to_tensors(ctx.data_dir, "train", ctx.device), cfg.train_limit, ctx.seed)
    xv, _ = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    torch.manual_seed(ctx.seed)
    model = VAE(cfg.hidden, cfg.latent_dim).to(ctx.device)
    t0 = time.perf_counter()
    final = fit(model, cfg, x, xv, ctx, cfg.epochs, "")
    ctx.tracker.log_metrics({"train_seconds": time.perf_counter() - t0})
    state = {"main": model.state_dict()}
    groups = {"loss (BCE+KL per image)": ["train_loss", "valid_loss"]}
    if cfg.latent2_epochs:
        torch.manual_seed(ctx.seed + 1)
        model2 = VAE(cfg.hidden, 2).to(ctx.device)
        ctx_hist = len(ctx.history)
        final.update(fit(model2, cfg, x, xv, ctx, cfg.latent2_epochs, "_latent2"))
        # the 2-d model's epochs restart at 1: keep them as separate columns of the history
        main_rows, extra = ctx.history[:ctx_hist], ctx.history[ctx_hist:]
        for row in extra:
            if row["step"] <= len(main_rows):
                main_rows[int(row["step"]) - 1].update(row)
            else:
                main_rows.append(row)
        ctx.history[:] = main_rows
        state["latent2"] = model2.state_dict()
        groups["2-d latent model"] = ["train_loss_latent2", "valid_loss_latent2"]
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png", groups=groups,
                          title=f"{ctx.name}: {cfg.hidden}-{cfg.latent_dim} VAE")
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg), state=state)
    return final


# ------------------------------------------------------------------ evaluation
def load_models(cfg: Config, ctx: Context) -> tuple[VAE, VAE | None]:
    blob = checkpoint.load(ctx.model_path, family=ctx.name, map_location=ctx.device)
    model = VAE(cfg.hidden, cfg.latent_dim).to(ctx.device)
    checkpoint.load_state(model, blob["state"].get("main", {}), str(ctx.model_path))
    model2 = None
    if cfg.latent2_epochs:
        model2 = VAE(cfg.hidden, 2).to(ctx.device)
        checkpoint.load_state(model2, blob["state"].get("latent2", {}), f"{ctx.model_path} (2-d latent)")
    return model.eval(), model2


@torch.no_grad()
def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    model, model2 = load_models(cfg, ctx)
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
    z = torch.randn((100, cfg.latent_dim), generator=generator(ctx.seed + 4, ctx.device), device=ctx.device)
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
