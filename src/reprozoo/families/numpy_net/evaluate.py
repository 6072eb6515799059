"""Evaluating numpy_net: test accuracy on the central 24×24 crops, the confusion matrix
and the first layer's weights as images."""

from __future__ import annotations

import os

import numpy as np

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.errors import CheckpointError

from .config import Config
from .model import CROP, Network, center_crop


def load_model(path: str | os.PathLike, family: str = "numpy_net") -> Network:
    """The network saved at `path`, rebuilt from the checkpoint's own config."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    net = Network(ck.config.model_config().sizes(), np.random.default_rng(0), dtype=np.float32)
    try:
        net.load({k: v.numpy() for k, v in ck.state.items()})
    except (KeyError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: checkpoint does not fit the model ({exc})") from None
    return net


def evaluate(cfg: Config, ctx: Context) -> dict:
    net = load_model(ctx.model_path, ctx.name)
    x_te, y_te = mnist.load(ctx.data_dir, "test")
    xte = center_crop(x_te)
    pred = net.forward(xte).argmax(axis=1)
    cm = np.zeros((10, 10), dtype=np.int64)
    np.add.at(cm, (y_te.astype(np.int64), pred), 1)
    plots.confusion_matrix(cm, ctx.report_dir / "confusion_matrix.png",
                           title="numpy_net: test confusion matrix")
    # The hidden units' weights as 24×24 images (what the first layer looks for).
    w = net.layers[0].W.T.reshape(-1, CROP, CROP)[:50]
    plots.image_grid(w, ctx.report_dir / "hidden_weights.png", symmetric=True, cmap="bwr",
                     title="first-layer weights (50 hidden units)")
    return {"test_acc": float((pred == y_te).mean()), "n_test": int(len(y_te)),
            "per_class_acc": {str(c): float(cm[c, c] / max(cm[c].sum(), 1)) for c in range(10)}}
