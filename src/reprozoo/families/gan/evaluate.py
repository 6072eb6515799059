"""Scoring the GAN in the feature space of our MNIST CNN (family `cnn`, its 128-d
penultimate layer): FID of `n_eval` samples against the test set (Heusel et al. 2017) and
class coverage (the classifier's label histogram, its entropy and its smallest share);
sample and coverage figures."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.errors import ConfigError
from reprozoo.runtime import cpu_threads, generator

from .config import Config
from .model import build_model


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """‖μ1−μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) (Heusel et al. 2017), float64.

    The trace term uses the eigenvalues of √Σ1 Σ2 √Σ1 (symmetric PSD), which equals
    tr((Σ1Σ2)^½) without scipy.linalg.sqrtm's complex round-off."""
    w1, v1 = np.linalg.eigh(s1)
    r1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    lam = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_sqrt = np.sqrt(np.clip(lam, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def feature_stats(f: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    a = f.double().cpu().numpy()
    return a.mean(0), np.cov(a, rowvar=False)


def fid(f1: torch.Tensor, f2: torch.Tensor) -> float:
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))


def coverage(pred: torch.Tensor, n_classes: int = 10) -> dict[str, Any]:
    """Label histogram (fractions), its entropy in bits and the smallest class share."""
    frac = torch.bincount(pred.cpu(), minlength=n_classes).double() / len(pred)
    ent = float(-(frac[frac > 0] * frac[frac > 0].log2()).sum())
    return {"class_fraction": {str(i): float(f) for i, f in enumerate(frac)}, "entropy_bits": ent,
            "min_class_fraction": float(frac.min()), "all_classes_over_5pct": bool(frac.min() >= 0.05)}


@torch.no_grad()
def embed(clf: nn.Module, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D), predicted labels (N,)) of images in [0,1] (B,1,28,28)."""
    from reprozoo.families.mnist_clf.model import features

    fs, ps = [], []
    for i in range(0, len(x), batch):
        f = features(clf, x[i:i + batch])
        fs.append(f)
        ps.append(clf[-1](f).argmax(1))
    return torch.cat(fs), torch.cat(ps)


@torch.no_grad()
def score(G: nn.Module, clf: nn.Module, f_test: torch.Tensor, cfg: Config,
          seed: int) -> tuple[torch.Tensor, torch.Tensor, float, dict[str, Any]]:
    """Sample `cfg.n_eval` images from G in eval mode (z drawn from `seed` + 5, 1,000 at a time) and
    score them: (samples in [0,1] (N,1,28,28), classifier labels (N,), FID against the
    test features `f_test`, class coverage). The evaluate stage and
    benchmarks/gan_variants.py both score this way, so their numbers agree."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    g = generator(seed + 5, device)
    n = cfg.n_eval
    samples = torch.cat([(G(torch.randn((min(1000, n - i), cfg.z_dim), generator=g, device=g.device)) + 1) / 2
                         for i in range(0, n, 1000)])  # (N,1,28,28) in [0,1]
    f_gen, pred = embed(clf, samples)
    G.train(was_training)
    return samples, pred, fid(f_gen, f_test), coverage(pred)


def load_model(path: str | os.PathLike, family: str, device: Any = "cpu") -> nn.Module:
    """The generator saved at `path` (the EMA copy when `ema` was set), rebuilt from the
    checkpoint's own config, in eval mode."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    G, _ = build_model(ck.config.model_config())
    G = G.to(device)
    checkpoint.restore(G, ck.state.get("G", {}), ck.path)
    return G.eval()


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    with cpu_threads(0 if ctx.runtime.is_cuda else cfg.cpu_threads):
        return _evaluate(cfg, ctx)


@torch.no_grad()
def _evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.families.mnist_clf.evaluate import load_model as load_classifier

    if ctx.needs is None:
        raise ConfigError(f"{ctx.name}: needs the `cnn` classifier's model folder (models/cnn) "
                          f"for FID features; none was given")
    G = load_model(ctx.model_path, ctx.name, ctx.device)
    clf = load_classifier(ctx.needs / "model.pt", family="cnn", device=ctx.device)
    x_test, y_test = mnist.to_tensors(ctx.data_dir, "test", ctx.device)
    x_test, y_test = x_test[:cfg.n_eval], y_test[:cfg.n_eval]  # the official order is not by class
    f_test, pred_test = embed(clf, x_test)
    samples, pred, fid_gen, cov = score(G, clf, f_test, cfg, ctx.seed)
    half = len(f_test) // 2
    out: dict[str, Any] = {
        "fid_cnn": fid_gen,
        "n_test": int(len(f_test)),
        # reference floor: FID between the two halves of the test set (finite-sample noise)
        "fid_cnn_test_halves": fid(f_test[:half], f_test[half:]),
        "classifier_test_accuracy": float((pred_test == y_test).double().mean()),
        "n_samples": int(len(samples)),
        "coverage": cov,
    }
    show = samples[:100, 0].cpu().numpy()
    plots.image_grid(show, ctx.report_dir / "samples.png", ncols=10,
                     titles=[str(int(p)) for p in pred[:100]],
                     title=f"{ctx.name}: samples (classifier label above), FID {out['fid_cnn']:.2f}")
    frac = [out["coverage"]["class_fraction"][str(i)] for i in range(10)]
    fig, ax = plots.figure(figsize=(5, 3.2))
    ax.bar(range(10), frac)
    ax.axhline(0.05, color="r", ls="--", lw=1, label="5 %")
    ax.axhline(0.1, color="gray", ls=":", lw=1, label="uniform")
    ax.set_xticks(range(10))
    ax.set_xlabel("classifier label")
    ax.set_ylabel("share of samples")
    ax.set_title(f"class coverage, entropy {out['coverage']['entropy_bits']:.3f} bits")
    ax.legend()
    plots.savefig(fig, ctx.report_dir / "class_coverage.png")
    return out
