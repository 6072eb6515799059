"""The from-scratch NumPy network on MNIST: seed article 001's demo, 576-100-10.

Model: `reprozoo.nn_numpy.Network` — sigmoid layers, squared-error loss on one-hot
targets, plain mini-batch gradient descent, every gradient hand-written in NumPy (no
torch autograd). Input: the 28×28 digit cropped to its central 24×24 (576 pixels) as in
the article; with `augment` the training crop is taken at a random offset of 0..4 px
instead (a cheap shift augmentation that the crop makes free).

Reference: seed article 001 ("Node" → "Layer" → network, trained on MNIST cropped to
24×24). Targets: ≥94 % test accuracy on mnist-5k (default), ≥97.5 % on full MNIST.

Default profile (mnist-5k: 4,500 train / 500 valid / 10,000 test; lr 3.0, batch 32,
30 epochs, augment): 95.3 % test accuracy in a scratch run of the same loop
(`python pipelines/train.py numpy_net && python pipelines/evaluate.py numpy_net` with
conf/params-A.yaml merged; see the report for the stage's own number).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.errors import CheckpointError
from reprozoo.metrics import check_finite
from reprozoo.nn_numpy import Network, mse

CROP = 24  # the article's 24×24 input (576 pixels)


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int = param(100, gt=0, doc="hidden sigmoid units (the article: 100)")
    epochs: int = param(30, gt=0)
    batch_size: int = param(32, gt=0)
    lr: float = param(3.0, gt=0.0, doc="gradient-descent step on the batch-mean ½·MSE")
    augment: bool = param(True, doc="random 24×24 crop offsets (0..4 px) while training")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")


def sizes(cfg: Config) -> tuple[int, int, int]:
    return (CROP * CROP, cfg.hidden, 10)


def center_crop(x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, 576) float32 in [0, 1], the central 24×24."""
    o = (x.shape[1] - CROP) // 2
    return x[:, o:o + CROP, o:o + CROP].reshape(len(x), -1).astype(np.float32) / 255.0


def random_crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image cropped at its own random offset (0..4 px each way), batch-wise."""
    n, h, w = x.shape
    off = rng.integers(0, h - CROP + 1, (n, 2))
    rows = off[:, 0, None] + np.arange(CROP)  # (N, 24)
    cols = off[:, 1, None] + np.arange(CROP)
    out = x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (N, 24, 24)
    return out.reshape(n, -1).astype(np.float32) / 255.0


def accuracy(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    return float((net.forward(x).argmax(axis=1) == y).mean())


def train(cfg: Config, ctx: Context) -> dict:
    x_tr, y_tr = mnist.load(ctx.data_dir, "train")
    x_va, y_va = mnist.load(ctx.data_dir, "valid")
    if cfg.train_limit:
        x_tr, y_tr = x_tr[: cfg.train_limit], y_tr[: cfg.train_limit]
    rng = np.random.default_rng(ctx.seed)
    net = Network(sizes(cfg), rng, dtype=np.float32)
    onehot = np.eye(10, dtype=np.float32)[y_tr]
    xva = center_crop(x_va)
    for epoch in range(1, cfg.epochs + 1):
        xb_all = random_crop(x_tr, rng) if cfg.augment else center_crop(x_tr)
        order = rng.permutation(len(x_tr))
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            b = order[i:i + cfg.batch_size]
            total += net.train_step(xb_all[b], onehot[b], cfg.lr) * len(b)
        loss = check_finite(total / len(order), epoch)
        val_loss = mse(net.forward(xva), np.eye(10, dtype=np.float32)[y_va])
        ctx.log_step(epoch, loss=loss, val_loss=val_loss, val_acc=accuracy(net, xva, y_va))
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          title="numpy_net 576-100-10 (sigmoid, MSE)")
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={k: torch.from_numpy(v.copy()) for k, v in net.state().items()})
    last = ctx.history[-1]
    return {"loss": last["loss"], "val_acc": last["val_acc"]}


def load_net(cfg: Config, ctx: Context) -> Network:
    blob = checkpoint.load(ctx.model_path, family=ctx.name)
    net = Network(sizes(cfg), np.random.default_rng(0), dtype=np.float32)
    try:
        net.load({k: v.numpy() for k, v in blob["state"].items()})
    except (KeyError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{ctx.model_path}: checkpoint does not fit the model ({exc})") from None
    return net


def evaluate(cfg: Config, ctx: Context) -> dict:
    net = load_net(cfg, ctx)
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
