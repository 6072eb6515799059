"""Evaluating the MNIST classifiers: test loss and accuracy, the confusion matrix, and
(seed article 002) the weights of the "winner" units for one test digit."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.io import write_json

from .config import Config
from .model import build_model, score


def load_model(path: Any, family: str = "cnn", device: Any = "cpu") -> nn.Module:
    """The classifier saved at `path` by family `family`, rebuilt from its own config, in eval mode."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    model = build_model(ck.config.model_config()).to(device)
    checkpoint.restore(model, ck.state, path)
    return model.eval()


def winner_images(model: nn.Sequential, cfg: Config, x: torch.Tensor) -> tuple[list[np.ndarray], list[str]]:
    """Seed article 002: for a test digit x (1,1,28,28), the weights of the units that answer most.

    SLP: the input and the output unit with the largest activation, its 784 weights as a
    28×28 image. MLPs: the input, the hidden unit with the largest activation (its 784
    weights) and the winning output unit's weights over the hidden layer (reshaped)."""
    with torch.no_grad():
        imgs, titles = [x[0, 0].cpu().numpy()], ["input"]
        out = model(x).argmax(1).item()
        if cfg.arch == "slp":
            imgs.append(model[1].weight[out].view(28, 28).cpu().numpy())
            titles.append(f"winner output {out}")
        elif cfg.arch != "cnn":
            h = model[2](model[1](model[0](x)))
            j = int(h.argmax(1))
            imgs.append(model[1].weight[j].view(28, 28).cpu().numpy())
            titles.append(f"hidden winner {j}")
            w_out = model[4].weight[out].cpu().numpy()
            side = int(math.sqrt(len(w_out)))
            while len(w_out) % side:
                side -= 1
            imgs.append(w_out.reshape(side, -1))
            titles.append(f"output winner {out}")
    return imgs, titles


def save_winner(model: nn.Sequential, cfg: Config, x: torch.Tensor, report_dir: Path, name: str) -> None:
    """winner_neuron.png for one model, and winner_neuron.json (the same pictures and their
    titles; JSON, not .npz, whose zip headers carry the time) from which the report stage
    draws the article's 3×2 comparison panel."""
    imgs, titles = winner_images(model, cfg, x)
    plots.image_grid(imgs, report_dir / "winner_neuron.png", ncols=len(imgs), titles=titles, cmap="bwr",
                     title=f"{name}: winner neurons for a test digit", symmetric=True)
    write_json(report_dir / "winner_neuron.json",
               {"titles": titles, "images": [np.round(np.asarray(im, dtype=np.float64), 6).tolist() for im in imgs]})


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    model = load_model(ctx.model_path, ctx.name, ctx.device)
    x, y = mnist.to_tensors(ctx.data_dir, "test", ctx.device)
    loss, acc, pred = score(model, x, y)
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (y.cpu().numpy(), pred.cpu().numpy()), 1)
    plots.confusion_matrix(cm, ctx.report_dir / "confusion_matrix.png",
                           title=f"{ctx.name}: test accuracy {acc:.2%}")
    if cfg.arch != "cnn":
        save_winner(model, cfg, x[:1], ctx.report_dir, ctx.name)
    per_class = (np.diag(cm) / cm.sum(1)).round(4)
    return {"test_accuracy": acc, "test_loss": loss, "n_test": int(len(y)),
            "per_class_accuracy": {str(i): float(a) for i, a in enumerate(per_class)}}
