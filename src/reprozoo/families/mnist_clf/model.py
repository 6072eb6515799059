"""The MNIST classifiers as plain `nn.Sequential`s, their image initialization, the shift
augmentation and the scoring (loss, accuracy) they share between training and evaluation.

Pure: no file I/O, no device choice; tensors stay on the device they come on.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from reprozoo.runtime import generator


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    arch: Literal["slp", "mlp", "cnn", "mlp_imginit"]
    hidden: int     # hidden units (mlp, mlp_imginit)
    dropout: float  # (mlp, mlp_imginit, cnn)


def build_model(mcfg: ModelConfig) -> nn.Sequential:
    """The network for `mcfg` (from `Config.model_config()` or a checkpoint's config)."""
    if mcfg.arch == "slp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if mcfg.arch in ("mlp", "mlp_imginit"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, mcfg.hidden), nn.ReLU(),
                             nn.Dropout(mcfg.dropout), nn.Linear(mcfg.hidden, 10))
    return nn.Sequential(  # (B,1,28,28)
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # (B,32,14,14)
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B,64,7,7)
        nn.Flatten(), nn.Dropout(mcfg.dropout),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(mcfg.dropout),  # (B,128)
        nn.Linear(128, 10))


def features(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Penultimate-layer activations (B, D): the feature space used for FID."""
    return model[:-1](x)


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
