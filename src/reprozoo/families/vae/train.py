"""Training the VAE (and the extra 2-d latent model): Adam on minibatches, validation loss
per epoch, learning curves, the checkpoint (both models in one file)."""

from __future__ import annotations

import time

import torch

from reprozoo import checkpoint, distributed, plots, progress
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.distributed import SINGLE, Group
from reprozoo.metrics import check_finite, check_not_diverged
from reprozoo.runtime import generator

from .config import Config
from .evaluate import test_loss
from .model import VAE


def subset(x: torch.Tensor, y: torch.Tensor, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded subset (the training files may be ordered by class)."""
    if not limit or limit >= len(x):
        return x, y
    keep = torch.randperm(len(x), generator=generator(seed))[:limit].sort().values.to(x.device)
    return x[keep], y[keep]


def fit(model: VAE, cfg: Config, x: torch.Tensor, xv: torch.Tensor, ctx: Context, epochs: int,
        tag: str, group: Group = SINGLE) -> dict[str, float]:
    """Adam on mini-batches; with several processes each rank takes its part of every
    global batch (the noise is drawn for the whole batch, so every rank's RNG stays in step)."""
    g = generator(ctx.seed, ctx.device)
    net = group.wrap(model)
    # fused: one kernel for all of Adam's update (the loop version costs more than the
    # forward and backward of this small network at batch 32 on a CPU)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    sched = None
    if cfg.schedule == "cosine":  # one half cosine over every batch of `epochs` epochs
        steps = epochs * group.steps(len(x), cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    amp = ctx.runtime.is_cuda  # bf16 autocast on CUDA only; the loss is summed in fp32
    start_loss = float(test_loss(model, xv, ctx.seed + 1))
    pb = progress.bar(epochs, desc=f"train {ctx.name}{tag}", unit="epoch")
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=g, device=g.device)
        total = torch.zeros((), device=x.device)
        for i in range(0, len(x), cfg.batch_size):
            xb = x[order[i:i + cfg.batch_size]]
            eps = torch.randn((len(xb), model.fc_mu.out_features), generator=g, device=g.device)
            if not group.usable(len(xb)):
                continue
            xb, eps = group.part(xb), group.part(eps)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                _, loss = net(xb, eps)
            opt.zero_grad(set_to_none=True)
            loss.mean().backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.detach().sum()
        group.sum(total)
        train_loss = check_finite(float(total) / len(x), epoch)
        valid_loss = float(test_loss(model, xv, ctx.seed + 1))
        ctx.log_step(epoch, **{f"train_loss{tag}": train_loss, f"valid_loss{tag}": valid_loss,
                               f"lr{tag}": opt.param_groups[0]["lr"]})  # at the epoch's end
        pb.set_postfix(loss=train_loss, val=valid_loss)
        pb.update(1)
    pb.close()
    check_not_diverged(start_loss, valid_loss, "validation loss")
    return {f"train_loss{tag}": train_loss, f"valid_loss{tag}": valid_loss}


def fit_worker(job: dict, rt, group: Group) -> dict:
    """One rank of a `nproc > 1` run (reprozoo.distributed): both fits on its parts."""
    ctx = distributed.worker_context(job, rt)
    cfg = job["cfg"]
    x, _ = subset(*mnist.to_tensors(ctx.data_dir, "train", ctx.device), cfg.train_limit, ctx.seed)
    xv, _ = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    model = VAE(cfg.model_config()).to(ctx.device)
    model.load_state_dict(job["init"]["main"])
    final = fit(model, cfg, x, xv, ctx, cfg.epochs, "", group)
    out = {"state": {"main": model.state_dict()}, "final": final}
    if "latent2" in job["init"]:
        model2 = VAE(cfg.latent2_model_config()).to(ctx.device)
        model2.load_state_dict(job["init"]["latent2"])
        out["latent2_start"] = len(ctx.history)
        final.update(fit(model2, cfg, x, xv, ctx, cfg.latent2_epochs, "_latent2", group))
        out["state"]["latent2"] = model2.state_dict()
    out["history"] = ctx.history
    return out


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    distributed.check_nproc(cfg.nproc, cfg.batch_size)
    x, y = subset(*mnist.to_tensors(ctx.data_dir, "train", ctx.device), cfg.train_limit, ctx.seed)
    xv, _ = mnist.to_tensors(ctx.data_dir, "valid", ctx.device)
    torch.manual_seed(ctx.seed)
    model = VAE(cfg.model_config()).to(ctx.device)
    groups = {"loss (BCE+KL per image)": ["train_loss", "valid_loss"]}
    if cfg.nproc > 1:
        return _train_distributed(cfg, ctx, model, groups)
    t0 = time.perf_counter()
    final = fit(model, cfg, x, xv, ctx, cfg.epochs, "")
    ctx.tracker.log_metrics({"train_seconds": time.perf_counter() - t0})
    state = {"main": model.state_dict()}
    if cfg.latent2_epochs:
        torch.manual_seed(ctx.seed + 1)
        model2 = VAE(cfg.latent2_model_config()).to(ctx.device)
        start = len(ctx.history)
        final.update(fit(model2, cfg, x, xv, ctx, cfg.latent2_epochs, "_latent2"))
        ctx.history[:] = _merge_latent2(ctx.history, start)
        state["latent2"] = model2.state_dict()
    return _finish(cfg, ctx, state, groups, final)


def _train_distributed(cfg: Config, ctx: Context, model: VAE, groups: dict) -> dict[str, float]:
    """Both fits on cfg.nproc processes (reprozoo.distributed), from the same initial weights
    as a 1-process run; rank 0's history is logged here as if it ran in this process."""
    init = {"main": {k: v.cpu() for k, v in model.state_dict().items()}}
    if cfg.latent2_epochs:
        torch.manual_seed(ctx.seed + 1)
        init["latent2"] = {k: v.cpu() for k, v in VAE(cfg.latent2_model_config()).state_dict().items()}
    t0 = time.perf_counter()
    out = distributed.launch("reprozoo.families.vae.train:fit_worker",
                             distributed.job_for(cfg, ctx, init=init), cfg.nproc)
    ctx.tracker.log_metrics({"train_seconds": time.perf_counter() - t0})
    history = out["history"]
    if "latent2_start" in out:
        history = _merge_latent2(history, out["latent2_start"])
    distributed.absorb(ctx, history)
    return _finish(cfg, ctx, out["state"], groups, out["final"])


def _merge_latent2(history: list[dict], start: int) -> list[dict]:
    """The 2-d model's epochs (rows from `start` on) restart at step 1: fold them into the
    main model's rows of the same step as extra columns."""
    rows, extra = history[:start], history[start:]
    for row in extra:
        if row["step"] <= len(rows):
            rows[int(row["step"]) - 1].update(row)
        else:
            rows.append(row)
    return rows


def _finish(cfg: Config, ctx: Context, state: dict, groups: dict, final: dict) -> dict[str, float]:
    if "latent2" in state:
        groups["2-d latent model"] = ["train_loss_latent2", "valid_loss_latent2"]
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png", groups=groups,
                          title=f"{ctx.name}: {cfg.hidden}-{cfg.latent_dim} VAE")
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=state)
    return final
