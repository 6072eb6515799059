"""Training the MNIST classifiers: Adam on mini-batches, early stopping on the validation
loss (the best epoch's weights are kept), learning curves, the checkpoint."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, distributed, plots, progress
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.distributed import SINGLE, Group
from reprozoo.metrics import check_finite, check_not_diverged
from reprozoo.runtime import generator

from .config import Config
from .model import build_model, init_from_images, score, shift_batch


def fit(model: nn.Module, cfg: Config, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor,
        yv: torch.Tensor, ctx: Context, group: Group = SINGLE) -> dict[str, float]:
    """Adam + early stopping on validation loss; restores the best epoch's weights.

    With several processes (`group`), each rank computes its part of every global batch
    (DDP averages the gradients); every rank scores the whole validation set, so all of
    them stop at the same epoch."""
    g = generator(ctx.seed)
    net = group.wrap(model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.schedule == "cosine":  # one half cosine over every batch of `epochs` epochs
        steps = cfg.epochs * group.steps(len(x), cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    start_loss, _, _ = score(model, xv, yv)  # where the validation loss starts
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=g).to(x.device)
        tot_loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            xb, yb = x[idx], y[idx]
            if cfg.augment:
                xb = shift_batch(xb, g)  # drawn for the global batch: every rank's g stays in step
            if not group.usable(len(idx)):
                continue
            xb, yb = group.part(xb), group.part(yb)
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            tot_loss += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
        group.sum(tot_loss)
        group.sum(correct)
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
    check_not_diverged(start_loss, valid_loss, "validation loss")
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_epoch": best_epoch, "best_valid_loss": best, "epochs_run": epoch}


def fit_worker(job: dict, rt, group: Group) -> dict:
    """One rank of a `nproc > 1` run (reprozoo.distributed): the same fit on its parts."""
    ctx = distributed.worker_context(job, rt)
    x, y = mnist.to_tensors(ctx.data_dir, "train", ctx.device)
    xv, yv = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    model = build_model(job["cfg"].model_config()).to(ctx.device)
    model.load_state_dict(job["init"])
    final = fit(model, job["cfg"], x, y, xv, yv, ctx, group)
    return {"state": model.state_dict(), "history": ctx.history, "final": final}


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    distributed.check_nproc(cfg.nproc, cfg.batch_size)
    x, y = mnist.to_tensors(ctx.data_dir, "train", ctx.device)
    xv, yv = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    model = build_model(cfg.model_config()).to(ctx.device)
    if cfg.arch == "mlp_imginit":
        init_from_images(model, x, ctx.seed)
    if cfg.nproc > 1:
        job = distributed.job_for(cfg, ctx, init={k: v.cpu() for k, v in model.state_dict().items()})
        out = distributed.launch("reprozoo.families.mnist_clf.train:fit_worker", job, cfg.nproc)
        model.load_state_dict(out["state"])
        distributed.absorb(ctx, out["history"])
        final = out["final"]
    else:
        final = fit(model, cfg, x, y, xv, yv, ctx)
    _, final["valid_acc"], _ = score(model, xv, yv)
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          title=f"{ctx.name} ({cfg.arch})")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=model.state_dict())
    return final
