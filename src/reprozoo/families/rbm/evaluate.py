"""Scoring the RBM: AIS log-likelihood (train and test), reconstruction error,
pseudo-log-likelihood, logistic regression on its features vs raw pixels vs sklearn's
BernoulliRBM; filter and Gibbs-chain figures."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.errors import CheckpointError
from reprozoo.runtime import generator

from .config import Config
from .model import RBM, ais_log_z, base_rate_bias
from .train import filters_figure, load_split


def load_model(path: str | os.PathLike, family: str = "rbm", device: Any = "cpu") -> RBM:
    """The RBM saved at `path`, its shapes checked against its saved config."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    mcfg = ck.config.model_config()
    extra = sorted(set(ck.state) - {"W", "b", "c"})
    if extra:
        raise CheckpointError(f"{ck.path}: checkpoint does not fit the model (unexpected {', '.join(extra)})")
    checkpoint.tensor(ck.state, "W", (mcfg.n_visible, mcfg.n_hidden), ck.path)
    checkpoint.tensor(ck.state, "b", (mcfg.n_visible,), ck.path)
    checkpoint.tensor(ck.state, "c", (mcfg.n_hidden,), ck.path)
    return RBM.from_state(ck.state, device)


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
    rbm = load_model(ctx.model_path, ctx.name, ctx.device)
    x, y = load_split(ctx, "train", cfg.train_limit, 1)
    xt, yt = load_split(ctx, "test", cfg.eval_limit, 2)
    g = generator(ctx.seed + 3, ctx.device)
    b_a = base_rate_bias(x)
    pb = progress.bar(cfg.ais_betas, desc=f"AIS {ctx.name} ({cfg.ais_runs} runs)", unit="beta")
    log_z, ais_rel = ais_log_z(rbm, b_a, cfg.ais_runs, cfg.ais_betas, g, on_step=pb.update)
    pb.close()
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
    filters_figure(rbm, ctx.report_dir / "filters.png")
    gibbs_figure(rbm, cfg, xt, ctx)
    return out
