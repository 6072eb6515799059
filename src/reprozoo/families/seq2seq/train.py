"""seq2seq training: length-bucketed shuffled batches, teacher-forced cross-entropy,
Adam or SGD with gradient clipping; valid loss and valid BLEU (greedy) after each epoch;
the checkpoint keeps the weights of the epoch with the best valid BLEU."""

from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from reprozoo import checkpoint, distributed, plots, progress
from reprozoo.context import Context
from reprozoo.distributed import SINGLE, Group
from reprozoo.metrics import check_finite

from .config import Config
from .data import load_split, load_vocabs
from .evaluate import score
from .model import Seq2Seq, pad_batch
from .translate import Translator


def batches(n_src_lens: list[int], batch_size: int, g: torch.Generator) -> list[list[int]]:
    """Shuffled index batches of similar source length (sorted inside chunks of 50 batches)."""
    perm = torch.randperm(len(n_src_lens), generator=g).tolist()
    chunk = batch_size * 50
    out = []
    for i in range(0, len(perm), chunk):
        part = sorted(perm[i:i + chunk], key=lambda j: n_src_lens[j])
        out += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    order = torch.randperm(len(out), generator=g).tolist()
    return [out[k] for k in order]


def loss_on(model: Seq2Seq, src: list, tgt: list, device, teacher_forcing: float = 1.0,
            label_smoothing: float = 0.0, g: torch.Generator | None = None) -> torch.Tensor:
    x = pad_batch(src).to(device)
    y = pad_batch(tgt, sos=True, eos=True).to(device)                     # (B, T+2)
    logits = model(x, y[:, :-1], teacher_forcing, g)                       # (B, T+1, V)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y[:, 1:].reshape(-1),
                           ignore_index=0, label_smoothing=label_smoothing)


def _data(cfg: Config, data_dir) -> dict:
    """The training pairs (length- and count-limited), the valid pairs and references."""
    vja, ven = load_vocabs(data_dir)
    src, tgt = load_split(data_dir, "train")
    keep = [i for i in range(len(src)) if not cfg.max_len or max(len(src[i]), len(tgt[i])) <= cfg.max_len]
    if cfg.train_limit:
        keep = keep[:cfg.train_limit]
    src, tgt = [src[i].tolist() for i in keep], [tgt[i].tolist() for i in keep]
    vsrc, vtgt = load_split(data_dir, "valid")
    vsrc, vtgt = [s.tolist() for s in vsrc], [t.tolist() for t in vtgt]
    vrefs = [line.split("\t")[3] for line in (Path(data_dir) / "valid.tsv").read_text("utf-8").splitlines()]
    return {"vja": vja, "ven": ven, "src": src, "tgt": tgt, "vsrc": vsrc, "vtgt": vtgt, "vrefs": vrefs,
            "nv": min(cfg.valid_limit or len(vsrc), len(vsrc))}


def fit(model: Seq2Seq, cfg: Config, d: dict, ctx: Context, group: Group = SINGLE) -> tuple:
    """Train; return (weights of the epoch with the best valid BLEU, that BLEU).

    With several processes each rank takes its part of every global batch (DDP averages the
    gradients); only rank 0 scores the valid set (the others wait for it at the next batch)."""
    dev = ctx.device
    src, tgt, vsrc, vtgt, nv = d["src"], d["tgt"], d["vsrc"], d["vtgt"], d["nv"]
    net = group.wrap(model)
    opt = (torch.optim.Adam(model.parameters(), lr=cfg.lr) if cfg.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=cfg.lr))
    g = torch.Generator().manual_seed(ctx.seed)
    # teacher-forcing draws: on one process from g (as always); with several, a generator of
    # each rank's own, so that g (the batch order) stays in step on every rank
    g_tf = g if group.world == 1 else torch.Generator().manual_seed(ctx.seed + 1000 + group.rank)
    lens = [len(s) for s in src]
    best, best_state, t0, step = -1.0, None, time.perf_counter(), 0
    # one tick per batch (the count per epoch is estimated: batches are length-bucketed)
    pb = progress.bar(cfg.epochs * math.ceil(len(src) / cfg.batch_size), desc=f"train {ctx.name}",
                      unit="batch")
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        tot, n = 0.0, 0
        for idx in batches(lens, cfg.batch_size, g):
            if not group.usable(len(idx)):
                continue
            idx = group.part(idx)
            loss = loss_on(net, [src[i] for i in idx], [tgt[i] for i in idx], dev,
                           cfg.teacher_forcing, cfg.label_smoothing, g_tf)
            step += 1
            check_finite(loss.item(), step)
            opt.zero_grad()
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            tot, n = tot + loss.item() * len(idx), n + len(idx)
            pb.update(1)
            if step % 20 == 0:
                pb.set_postfix(epoch=epoch, loss=tot / n)
        if group.world > 1:
            sums = group.sum(torch.tensor([tot, float(n)], dtype=torch.float64))
            tot, n = float(sums[0]), int(sums[1])
            if not group.is_main:
                continue
        model.eval()
        with torch.no_grad():
            vl = [loss_on(model, vsrc[k:min(k + 256, nv)], vtgt[k:min(k + 256, nv)], dev).item()
                  * len(vsrc[k:min(k + 256, nv)]) for k in range(0, nv, 256)]
        tr = Translator(model, cfg, d["vja"], d["ven"], dev)
        hyp_ids, _ = tr.decode_ids(vsrc[:nv])
        vb = score([tr.detok(h) for h in hyp_ids], d["vrefs"][:nv])["bleu"]
        ctx.log_step(epoch, train_loss=tot / n, valid_loss=sum(vl) / nv, valid_bleu=vb)
        el = time.perf_counter() - t0
        ctx.tracker.log_metrics({"elapsed_s": el, "train_pairs_per_s": epoch * len(src) / el}, step=epoch)
        pb.write(f"epoch {epoch}: train_loss {tot / n:.3f} valid_loss {sum(vl) / nv:.3f} "
                 f"valid_bleu {vb:.2f} [{el:.0f}s]")
        if vb > best:
            best, best_state = vb, copy.deepcopy(model.state_dict())
    pb.close()
    return best_state, best


def fit_worker(job: dict, rt, group: Group) -> dict:
    """One rank of a `nproc > 1` run (reprozoo.distributed)."""
    ctx = distributed.worker_context(job, rt)
    cfg, d = job["cfg"], _data(job["cfg"], ctx.data_dir)
    model = Seq2Seq(cfg.model_config(len(d["vja"]), len(d["ven"]))).to(ctx.device)
    model.load_state_dict(job["init"])
    t0 = time.perf_counter()
    best_state, best = fit(model, cfg, d, ctx, group)
    return {"state": best_state, "best": best, "history": ctx.history,
            "train_s": time.perf_counter() - t0}


def train(cfg: Config, ctx: Context) -> dict:
    distributed.check_nproc(cfg.nproc, cfg.batch_size)
    d = _data(cfg, ctx.data_dir)
    vja, ven, src = d["vja"], d["ven"], d["src"]
    model = Seq2Seq(cfg.model_config(len(vja), len(ven))).to(ctx.device)
    print(f"seq2seq: {len(src)} training pairs, vocab ja={len(vja)} en={len(ven)}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", file=sys.stderr)
    if cfg.nproc > 1:
        init = {k: v.cpu() for k, v in model.state_dict().items()}
        out = distributed.launch("reprozoo.families.seq2seq.train:fit_worker",
                                 distributed.job_for(cfg, ctx, init=init), cfg.nproc)
        best_state, best = out["state"], out["best"]
        distributed.absorb(ctx, out["history"])
        ctx.tracker.log_metrics({"elapsed_s": out["train_s"],
                                 "train_pairs_per_s": cfg.epochs * len(src) / out["train_s"]})
    else:
        best_state, best = fit(model, cfg, d, ctx)
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          groups={"loss": ["train_loss", "valid_loss"], "valid BLEU": ["valid_bleu"]},
                          title=ctx.name)
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"model": best_state, "ja_itos": vja.itos, "en_itos": ven.itos})
    last = ctx.history[-1]
    return {"train_loss": last["train_loss"], "valid_loss": last["valid_loss"], "best_valid_bleu": best,
            "train_pairs": len(src)}
