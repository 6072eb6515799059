"""Bernoulli RBM on binarized MNIST, trained with CD-k or persistent CD (seed article 003).

Model maths (conditionals, free energy, CD statistics, AIS) live in `reprozoo.rbm_model`;
this module fits it with momentum SGD on the whole data set held as one device tensor,
and scores it: reconstruction error, pseudo-log-likelihood, an AIS estimate of the test
log-likelihood (anchor: Salakhutdinov & Murray 2008, 500 hidden units, CD-1 ≈ −125.5 and
CD-25 ≈ −86.3 nats), and the accuracy of a logistic regression on the hidden-unit
probabilities vs on raw pixels vs on `sklearn.neural_network.BernoulliRBM` features
trained on the same data with the same budget (units, epochs, batch size, step size).

Default profile (mnist-5k, 2-core CPU), measured with
`python pipelines/train.py rbm && python pipelines/evaluate.py rbm` (merged params):
AIS test log-likelihood −162.0 nats (100 runs × 2,000 β; high AIS variance), reconstruction
error 17.5, logistic regression on RBM features 93.08 % vs raw pixels 86.42 % vs sklearn
BernoulliRBM features 92.92 %.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.errors import CheckpointError
from reprozoo.metrics import check_finite
from reprozoo.rbm_model import RBM, ais_log_z, base_rate_bias, bernoulli, cd_gradient
from reprozoo.runtime import generator


@dataclasses.dataclass(frozen=True)
class Config:
    n_hidden: int = param(500, gt=0)
    k: int = param(1, gt=0, doc="Gibbs steps per update (CD-k / PCD-k)")
    persistent: bool = False
    epochs: int = param(20, gt=0)
    batch_size: int = param(100, gt=0)
    lr: float = param(0.05, gt=0.0, doc="SGD step size on the mean-per-example gradient")
    momentum: float = param(0.5, ge=0.0, lt=1.0)
    weight_decay: float = param(2e-4, ge=0.0, doc="L2 on W (Hinton 2010 §10)")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")
    ais_runs: int = param(100, gt=1, doc="AIS importance-weighted chains")
    ais_betas: int = param(1000, ge=28, doc="intermediate temperatures (S&M 2008: 14,500)")
    eval_limit: int = param(0, ge=0, doc="score at most this many test images (0 = all)")
    gibbs_steps: int = param(1000, gt=0, doc="Gibbs steps for the sample figure")
    compare_sklearn: bool = True


def binarize(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Stochastic binarization (one fixed draw, seeded) of (N,1,28,28) in [0,1] → (N,784)."""
    return bernoulli(x.flatten(1), g)


def load_split(ctx: Context, split: str, limit: int, seed_offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = mnist.to_tensors(ctx.data_dir, split, ctx.device)
    if limit and limit < len(x):  # a seeded subset: the files may be ordered by class
        keep = torch.randperm(len(x), generator=generator(ctx.seed + seed_offset))[:limit].sort().values
        x, y = x[keep.to(x.device)], y[keep.to(y.device)]
    return binarize(x, generator(ctx.seed + seed_offset, ctx.device)), y


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
        for i in range(0, len(x), cfg.batch_size):
            v0 = x[order[i:i + cfg.batch_size]]
            start = chains[: len(v0)] if cfg.persistent else v0
            grads, vk = cd_gradient(rbm, v0, start, cfg.k, g)
            if cfg.persistent:
                chains[: len(v0)] = vk
            grads = (grads[0] - cfg.weight_decay * rbm.W, grads[1], grads[2])
            for t, v, d in zip((rbm.W, rbm.b, rbm.c), vel, grads):
                v.mul_(mom).add_(d, alpha=cfg.lr)
                t.add_(v)
            err += rbm.reconstruction_error(v0).sum()
        recon = check_finite(float(err) / len(x), epoch, "reconstruction error")
        ctx.log_step(epoch, recon_error=recon)
        pb.set_postfix(recon=recon)
        pb.update(1)
    pb.close()
    return {"train_recon_error": recon}


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, _ = load_split(ctx, "train", cfg.train_limit, 1)
    rbm = RBM.init(x.shape[1], cfg.n_hidden, generator(ctx.seed), ctx.device, visible_mean=x.mean(0))
    t0 = time.perf_counter()
    with torch.no_grad():
        final = fit(rbm, cfg, x, ctx)
    ctx.tracker.log_metrics({"train_seconds": time.perf_counter() - t0})
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          groups={"reconstruction error": ["recon_error"]},
                          title=f"{ctx.name}: {'PCD' if cfg.persistent else 'CD'}-{cfg.k}")
    plots.image_grid(rbm.W.T[:100].reshape(-1, 28, 28).cpu().numpy(), ctx.report_dir / "filters.png",
                     ncols=10, cmap="bwr", symmetric=True, title="hidden-unit weights (first 100)")
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg), state=rbm.state())
    return final


# ------------------------------------------------------------------ evaluation
def load_rbm(ctx: Context, cfg: Config) -> RBM:
    blob = checkpoint.load(ctx.model_path, family=ctx.name, map_location=ctx.device)
    state = blob["state"]
    want = (784, cfg.n_hidden)
    if not isinstance(state, dict) or set(state) != {"W", "b", "c"} or tuple(state["W"].shape) != want:
        got = tuple(state["W"].shape) if isinstance(state, dict) and "W" in state else "?"
        raise CheckpointError(f"{ctx.model_path}: checkpoint does not fit the model "
                              f"(W shape {got}, config wants {want})")
    return RBM.from_state(state, ctx.device)


def logistic_accuracy(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray,
                      y_test: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300, C=1.0, random_state=seed)
    clf.fit(f_train, y_train)
    return float((clf.predict(f_test) == y_test).mean())


def sklearn_rbm_features(cfg: Config, x: np.ndarray, x_test: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """sklearn's BernoulliRBM (PCD-1, plain SGD) on the same data, units, epochs, batch
    size and step size; returns (train features, test features, fit seconds)."""
    from sklearn.neural_network import BernoulliRBM

    skl = BernoulliRBM(n_components=cfg.n_hidden, learning_rate=cfg.lr, batch_size=cfg.batch_size,
                       n_iter=cfg.epochs, random_state=seed)
    t0 = time.perf_counter()
    skl.fit(x)
    return skl.transform(x), skl.transform(x_test), time.perf_counter() - t0


def gibbs_figure(rbm: RBM, cfg: Config, x: torch.Tensor, ctx: Context) -> None:
    """10 chains started at test digits; a snapshot (p(v|h)) every steps/9 Gibbs steps."""
    g = generator(ctx.seed + 7, ctx.device)
    v = x[:10]
    every = max(1, cfg.gibbs_steps // 9)
    frames = [v]
    for _ in range(9):
        v, _ = rbm.gibbs(v, every, g)
        frames.append(rbm.p_v(rbm.p_h(v)))
    imgs = torch.stack(frames, 1).reshape(-1, 28, 28).cpu().numpy()  # (10 chains × 10 frames)
    plots.image_grid(imgs, ctx.report_dir / "gibbs_samples.png", ncols=10,
                     title=f"Gibbs chains (rows), every {every} steps (columns)")


@torch.no_grad()
def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    rbm = load_rbm(ctx, cfg)
    x, y = load_split(ctx, "train", cfg.train_limit, 1)
    xt, yt = load_split(ctx, "test", cfg.eval_limit, 2)
    g = generator(ctx.seed + 3, ctx.device)
    b_a = base_rate_bias(x)
    log_z, ais_rel = ais_log_z(rbm, b_a, cfg.ais_runs, cfg.ais_betas, g)
    test_ll = float((-rbm.free_energy(xt)).mean()) - log_z
    out: dict[str, Any] = {
        "test_log_likelihood_ais": test_ll,
        "train_log_likelihood_ais": float((-rbm.free_energy(x)).mean()) - log_z,
        "log_z_ais": log_z, "ais_relative_sd3": ais_rel,
        "test_recon_error": float(rbm.reconstruction_error(xt).mean()),
        "test_pseudo_log_likelihood": float(rbm.pseudo_log_likelihood(xt, g, n_bits=10).mean()),
        "n_test": int(len(xt)), "ais_runs": cfg.ais_runs, "ais_betas": cfg.ais_betas,
    }
    xn, yn, xtn, ytn = (t.cpu().numpy() for t in (x, y, xt, yt))
    feats = rbm.p_h(x).cpu().numpy(), rbm.p_h(xt).cpu().numpy()
    acc = {"raw_pixels": logistic_accuracy(xn, yn, xtn, ytn, ctx.seed),
           "rbm_features": logistic_accuracy(feats[0], yn, feats[1], ytn, ctx.seed)}
    if cfg.compare_sklearn:
        f_tr, f_te, secs = sklearn_rbm_features(cfg, xn, xtn, ctx.seed)
        acc["sklearn_rbm_features"] = logistic_accuracy(f_tr, yn, f_te, ytn, ctx.seed)
        ctx.tracker.log_metrics({"sklearn_rbm_fit_seconds": secs})
    out["logreg_test_accuracy"] = acc
    plots.image_grid(rbm.W.T[:100].reshape(-1, 28, 28).cpu().numpy(), ctx.report_dir / "filters.png",
                     ncols=10, cmap="bwr", symmetric=True, title="hidden-unit weights (first 100)")
    gibbs_figure(rbm, cfg, xt, ctx)
    return out
