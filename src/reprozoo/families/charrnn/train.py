"""charrnn training: Adam on batches of random `seq_len`-character windows of the training
text (the state starts at zero in each window), gradient-norm clipping, a validation pass
every `eval_every` steps."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.errors import DataError
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator

from .config import Config
from .data import encode, load_splits
from .model import UNK, CharModel, cross_entropy


def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    data = load_splits(cfg, ctx.data_dir)
    itos = UNK + "".join(sorted({ch for s in data["train"] for ch in s + "\n"}))
    stoi = {ch: i for i, ch in enumerate(itos)}
    tr, va = encode(data["train"], stoi), encode(data["valid"], stoi)
    if len(tr) <= cfg.seq_len + 1:
        raise DataError(f"{ctx.data_dir}: training text has {len(tr)} characters; need > seq_len + 1")
    model = CharModel(cfg.model_config(len(itos))).to(ctx.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    g = generator(ctx.seed)
    pb = progress.bar(cfg.steps, desc=f"train {ctx.name}", unit="step")
    running = 0.0
    for step in range(1, cfg.steps + 1):
        # B random windows of seq_len+1 characters; the state starts at 0 in each window
        start = torch.randint(0, len(tr) - cfg.seq_len - 1, (cfg.batch_size,), generator=g)
        idx = start[:, None] + torch.arange(cfg.seq_len + 1)          # (B, T+1)
        batch = tr[idx].to(ctx.device)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        check_finite(loss.item(), step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        running += loss.item()
        pb.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            k = step % cfg.eval_every or cfg.eval_every
            valid = cross_entropy(model, va, ctx.device)
            ctx.log_step(step, train_loss=running / k, valid_loss=valid,
                         valid_bits_per_char=valid / math.log(2))
            pb.set_postfix(train=running / k, valid=valid)
            running = 0.0
    pb.close()
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curve.png",
                          groups={"cross-entropy (nats/char)": ["train_loss", "valid_loss"]},
                          title=f"{ctx.name}: {cfg.cell}, x = optimizer step")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"model": model.state_dict(), "itos": itos})
    last = ctx.history[-1]
    return {"train_loss": last["train_loss"], "valid_loss": last["valid_loss"],
            "n_chars": len(itos), "train_characters": len(tr)}
