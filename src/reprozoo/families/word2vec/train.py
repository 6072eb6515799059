"""word2vec training: per epoch, subsample the corpus, build the skip-gram pairs, shuffle
them and take SGNS steps of `batch_size` pairs with `negative` noise words each; the
learning rate decays linearly over the whole run. word2vec.c's init: input vectors
uniform ±0.5/D, output vectors 0."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.metrics import check_finite

from .config import Config
from .data import Vocab, load_corpus
from .model import keep_probability, noise_table, sgns_step, skipgram_pairs


def fit(cfg: Config, vocab: Vocab, sents: list[np.ndarray], seed: int,
        log: Any = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Train input/output vectors (V, D); word2vec.c's init (uniform ±0.5/D, output 0)."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    nv = len(vocab.words)
    w_in = (torch.rand(nv, cfg.dim, generator=g) - 0.5) / cfg.dim
    w_out = torch.zeros(nv, cfg.dim)
    keep = keep_probability(vocab.counts, cfg.sample)
    noise = noise_table(vocab.counts)
    step, words = 0, 0
    pb = progress.bar(cfg.epochs, desc="word2vec", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        kept = [s[rng.random(len(s)) < keep[s]] for s in sents]
        words += sum(len(s) for s in kept)
        pairs = torch.from_numpy(skipgram_pairs(kept, cfg.window, rng))      # (P, 2)
        pairs = pairs[torch.randperm(len(pairs), generator=g)]
        total = 0.0
        nb = math.ceil(len(pairs) / cfg.batch_size)
        for b in range(nb):
            batch = pairs[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            negs = torch.multinomial(noise, len(batch) * cfg.negative, replacement=True,
                                     generator=g).view(len(batch), cfg.negative)
            # linear decay over the whole run, by progress through the epochs' pairs
            lr = cfg.lr * max(1e-4, 1.0 - (epoch - 1 + b / nb) / cfg.epochs)
            total += sgns_step(w_in, w_out, batch[:, 0], batch[:, 1], negs, lr)
            step += 1
        mean = check_finite(total / max(nb, 1), epoch)
        if log is not None:
            log(epoch, train_loss=mean, pairs=len(pairs), lr=lr)
        pb.update(1)
        pb.set_postfix(loss=mean)
    pb.close()
    return w_in, w_out, {"train_loss": mean, "words_seen": words, "steps": step}


def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    itos, sents = load_corpus(ctx.data_dir, cfg.lang, "train", cfg.train_limit)
    vocab = Vocab(itos, sents, cfg.min_count)
    t0 = time.perf_counter()
    w_in, w_out, stats = fit(cfg, vocab, vocab.encode(sents), ctx.seed, log=ctx.log_step)
    secs = time.perf_counter() - t0
    ctx.tracker.log_metrics({"train_seconds": secs, "words_per_second": stats["words_seen"] / secs})
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curve.png",
                          groups={"SGNS loss": ["train_loss"]}, title=ctx.name)
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"w_in": w_in, "w_out": w_out, "words": vocab.words,
                           "counts": torch.tensor(vocab.counts)})
    return {**stats, "vocab_size": len(vocab.words)}
