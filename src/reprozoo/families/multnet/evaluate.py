"""Evaluating the multiplication network: relative errors over all 100×100 pairs per
seed, the convergence rule, error tables by operand size, the article's failure cases,
and relative-error heat maps (median seed and best seed)."""

from __future__ import annotations

import os

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.errors import CheckpointError

from .config import Config
from .model import N, Model, NacMul, grid

CONVERGED = {"median": 0.01, "p90": 0.05}  # relative-error thresholds for "converged"


def rel_errors(model: Model | NacMul) -> np.ndarray:
    """(S, 100, 100) relative errors |ŷ − xy| / xy; [s, x−1, y−1]."""
    x, y = grid()
    with torch.no_grad():
        pred = model.predict(x, y)
    return ((pred - x * y).abs() / (x * y)).reshape(-1, N, N).numpy()


def error_table(err: np.ndarray) -> dict:
    """Median relative error by operand size (pooled over the seeds given)."""
    one = np.arange(1, N + 1) < 10                      # one-digit operands
    a, b = np.meshgrid(one, one, indexing="ij")
    cells = {"1digit_x_1digit": a & b, "1digit_x_2digit": a ^ b, "2digit_x_2digit": ~a & ~b}
    return {k: float(np.median(err[:, m])) for k, m in cells.items()}


def summarize(err: np.ndarray) -> dict:
    flat = err.reshape(len(err), -1)
    med, p90 = np.median(flat, axis=1), np.quantile(flat, 0.9, axis=1)
    ok = (med <= CONVERGED["median"]) & (p90 <= CONVERGED["p90"])
    best = int(np.argmin(med))
    out = {"seeds": int(len(err)), "converged": int(ok.sum()), "success_rate": float(ok.mean()),
           "median_rel_err": float(np.median(med)), "p90_rel_err": float(np.median(p90)),
           "best_seed": best, "best_median_rel_err": float(med[best]),
           "best_p90_rel_err": float(p90[best]),
           "error_table_all_seeds": error_table(err), "error_table_best_seed": error_table(err[best:best + 1])}
    two = flat.reshape(-1, N, N)[:, 9:, 9:].reshape(len(err), -1)  # 10..100 × 10..100 only
    ok2 = (np.median(two, axis=1) <= CONVERGED["median"]) & (np.quantile(two, 0.9, axis=1) <= CONVERGED["p90"])
    out["converged_2digit_pairs_only"] = int(ok2.sum())
    if ok.any():
        out["error_table_converged"] = error_table(err[ok])
    return out


def heatmap(err: np.ndarray, path, title: str) -> None:
    fig, ax = plots.figure(figsize=(6, 5))
    im = ax.imshow(np.log10(np.maximum(err, 1e-6)), origin="lower", cmap="viridis", vmin=-4, vmax=1,
                   extent=(0.5, N + 0.5, 0.5, N + 0.5))
    ax.set_xlabel("y")
    ax.set_ylabel("x")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="log10 relative error")
    plots.savefig(fig, path)


# ---------------------------------------------------------------- family API
def load_model(path: str | os.PathLike, family: str = "multnet") -> dict[str, Model | NacMul]:
    """Every variant saved at `path`, rebuilt from the checkpoint's own config."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    mcfg = ck.config.model_config()
    models = {}
    for variant in ck.config.variants:
        st = ck.state.get(variant)
        if st is None:
            raise CheckpointError(f"{path}: no '{variant}' variant in the checkpoint; retrain")
        if variant == "nac_mul":
            if tuple(st["w"].shape) != (mcfg.seeds, 2):
                raise CheckpointError(f"{path}: checkpoint does not fit the model (nac_mul)")
            models[variant] = NacMul(st["w"])
            continue
        h = mcfg.width(variant)
        if st["log"][0].shape != (mcfg.seeds, 1, h):
            raise CheckpointError(f"{path}: checkpoint does not fit the model ({variant}: "
                                  f"{tuple(st['log'][0].shape)} vs {(mcfg.seeds, 1, h)})")
        models[variant] = Model(variant, st["log"], st["exp"], log_output=st["log_output"])
    return models


def evaluate(cfg: Config, ctx: Context) -> dict:
    out = {}
    for variant, model in load_model(ctx.model_path, ctx.name).items():
        err = rel_errors(model)
        summary = summarize(err)
        b = summary["best_seed"]
        with torch.no_grad():
            ex = model.predict(torch.tensor([7.0, 17.0, 3.0], dtype=torch.float64),
                               torch.tensor([82.0, 2.0, 4.0], dtype=torch.float64))[b]
        summary["examples_best_seed"] = {"7x82": float(ex[0]), "17x2": float(ex[1]), "3x4": float(ex[2])}
        flat = err.reshape(len(err), -1)
        order = np.argsort(np.median(flat, axis=1), kind="stable")
        mid = int(order[len(order) // 2])  # the median seed: a typical run, not the best
        heatmap(err[mid], ctx.report_dir / f"rel_error_{variant}.png",
                f"{variant}: relative error |ŷ−xy|/xy, median seed ({mid})")
        heatmap(err[b], ctx.report_dir / f"rel_error_{variant}_best.png",
                f"{variant}: relative error, best seed ({b})")
        out[variant] = summary
    return out
