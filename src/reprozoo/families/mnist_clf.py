"""MNIST classifiers: softmax regression (SLP), MLP, CNN, and the image-initialized MLP.

Source: the seed articles 002/003 (single- vs multi-layer perceptrons on MNIST and their
"winner neuron" weight pictures; the Keras MLP/CNN examples with a validation split,
early stopping and learning curves). Models are plain `nn.Sequential`s built from the
config, so a checkpoint (state_dict + config) rebuilds them anywhere.

Default profile (mnist-5k: 4,500 train / 500 valid / 10,000 test, 2-core CPU), measured
with `dvc repro evaluate@slp evaluate@mlp evaluate@cnn evaluate@mlp_imginit`:
see reports/README.md for the current numbers (targets: SLP ≥88 %, MLP ≥93 %, CNN ≥96 %).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.io import write_json
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator


@dataclasses.dataclass(frozen=True)
class Config:
    arch: Literal["slp", "mlp", "cnn", "mlp_imginit"] = "mlp"
    hidden: int = param(512, gt=0, doc="hidden units (mlp, mlp_imginit)")
    epochs: int = param(20, gt=0)
    batch_size: int = param(64, gt=0)
    lr: float = param(1e-3, gt=0.0, doc="Adam step size")
    weight_decay: float = param(0.0, ge=0.0)
    dropout: float = param(0.0, ge=0.0, lt=1.0)
    patience: int = param(5, gt=0, doc="epochs without a lower validation loss before stopping")
    augment: bool = False


# ------------------------------------------------------------------ models
def build_model(cfg: Config | dict[str, Any]) -> nn.Sequential:
    """The network for `cfg` (a Config or its dict, as stored in checkpoints)."""
    if isinstance(cfg, dict):
        cfg = Config(**cfg)
    if cfg.arch == "slp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if cfg.arch in ("mlp", "mlp_imginit"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, cfg.hidden), nn.ReLU(),
                             nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, 10))
    return nn.Sequential(  # (B,1,28,28)
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # (B,32,14,14)
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B,64,7,7)
        nn.Flatten(), nn.Dropout(cfg.dropout),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(cfg.dropout),  # (B,128)
        nn.Linear(128, 10))


def features(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Penultimate-layer activations (B, D): the feature space used for FID."""
    return model[:-1](x)


def load_trained(path: Any, family: str = "cnn", device: Any = "cpu") -> nn.Sequential:
    blob = checkpoint.load(path, family=family, map_location=device)
    model = build_model(blob["config"]).to(device)
    checkpoint.load_state(model, blob["state"], str(path))
    return model.eval()


def init_from_images(model: nn.Sequential, x_train: torch.Tensor, seed: int) -> None:
    """Seed article 002: each hidden unit starts as a (unit-norm) training image."""
    lin = model[1]
    g = generator(seed)
    idx = torch.randperm(len(x_train), generator=g)[: lin.out_features]
    w = x_train[idx.to(x_train.device)].flatten(1)
    w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-8)
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.zero_()


# ------------------------------------------------------------------ training
def shift_batch(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random integer translations (±max_shift px) of a (B,1,H,W) batch, on its device."""
    b, _, h, w = x.shape
    pad = F.pad(x, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=g).to(x.device)
    dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=g).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (B,H)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (B,W)
    return pad[torch.arange(b, device=x.device)[:, None, None], 0, rows[:, :, None],
               cols[:, None, :]].unsqueeze(1)


@torch.no_grad()
def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2000) -> tuple[float, float, torch.Tensor]:
    """(mean loss, accuracy, predictions) without dropout."""
    model.eval()
    losses, preds = [], []
    for i in range(0, len(x), batch):
        logits = model(x[i:i + batch])
        losses.append(F.cross_entropy(logits, y[i:i + batch], reduction="sum"))
        preds.append(logits.argmax(1))
    pred = torch.cat(preds)
    return float(torch.stack(losses).sum()) / len(x), float((pred == y).float().mean()), pred


def fit(model: nn.Module, cfg: Config, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor,
        yv: torch.Tensor, ctx: Context) -> dict[str, float]:
    """Adam + early stopping on validation loss; restores the best epoch's weights."""
    g = generator(ctx.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=g).to(x.device)
        tot_loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            xb, yb = x[idx], y[idx]
            if cfg.augment:
                xb = shift_batch(xb, g)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
        train_loss = check_finite(float(tot_loss) / len(x), epoch)
        valid_loss, valid_acc, _ = score(model, xv, yv)
        ctx.log_step(epoch, train_loss=train_loss, train_acc=float(correct) / len(x),
                     valid_loss=valid_loss, valid_acc=valid_acc)
        pb.set_postfix(loss=train_loss, val_loss=valid_loss, val_acc=valid_acc)
        pb.update(1)
        if valid_loss < best - 1e-6:
            best, best_epoch, waited = valid_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= cfg.patience:
                pb.write(f"early stop at epoch {epoch}: best valid loss {best:.4f} at epoch {best_epoch}")
                break
    pb.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_epoch": best_epoch, "best_valid_loss": best, "epochs_run": epoch}


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, y = mnist.to_tensors(ctx.data_dir, "train", ctx.device)
    xv, yv = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    model = build_model(cfg).to(ctx.device)
    if cfg.arch == "mlp_imginit":
        init_from_images(model, x, ctx.seed)
    final = fit(model, cfg, x, y, xv, yv, ctx)
    _, final["valid_acc"], _ = score(model, xv, yv)
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          title=f"{ctx.name} ({cfg.arch})")
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg), state=model.state_dict())
    return final


# ------------------------------------------------------------------ evaluation
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
    model = load_trained(ctx.model_path, ctx.name, ctx.device)
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
