"""word2vec training: per epoch, subsample the corpus, build the skip-gram pairs, shuffle
them, draw `negative` noise words for each, and take SGNS steps of `batch_size` pairs; the
learning rate decays linearly over the whole run. word2vec.c's init: input vectors
uniform ±0.5/D, output vectors 0.

An epoch's random draws (subsampling, reach, order, noise) are made at once in numpy from
one generator seeded by `seed`, the init from a torch generator with the same seed: a
fixed seed gives bit-identical vectors on CPU."""

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
from .model import NoiseSampler, flatten, keep_probability, sgns_step, window_pairs


def epoch_batches(toks: np.ndarray, sid: np.ndarray, keep: np.ndarray, noise: NoiseSampler,
                  window: int, negative: int, rng: np.random.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """One epoch's training data, shuffled: (centres (P,), targets (P, 1+negative): the
    context word then the noise words, the number of words kept by subsampling)."""
    kept = rng.random(len(toks)) < keep[toks]
    pairs = window_pairs(toks[kept], sid[kept], window, rng)                 # (P, 2)
    pairs = np.take(pairs, rng.permutation(len(pairs)), axis=0)  # np.take: 5x pairs[perm]
    targets = np.empty((len(pairs), 1 + negative), np.int64)
    targets[:, 0] = pairs[:, 1]
    targets[:, 1:] = noise.draw((len(pairs), negative), rng)
    return torch.from_numpy(np.ascontiguousarray(pairs[:, 0])), torch.from_numpy(targets), int(kept.sum())


def fit(cfg: Config, vocab: Vocab, sents: list[np.ndarray], seed: int,
        log: Any = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Train input/output vectors (V, D); word2vec.c's init (uniform ±0.5/D, output 0)."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    nv = len(vocab.words)
    w_in = (torch.rand(nv, cfg.dim, generator=g) - 0.5) / cfg.dim
    w_out = torch.zeros(nv, cfg.dim)
    keep = keep_probability(vocab.counts, cfg.sample)
    noise = NoiseSampler(vocab.counts)
    toks, sid = flatten(sents)
    step, words, mean = 0, 0, float("nan")
    pb = progress.bar(cfg.epochs, desc="word2vec", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        centre, targets, n_kept = epoch_batches(toks, sid, keep, noise, cfg.window, cfg.negative, rng)
        words += n_kept
        total = 0.0
        nb = math.ceil(len(centre) / cfg.batch_size)
        lr = cfg.lr
        with torch.inference_mode():                  # no autograd bookkeeping on the steps
            for b in range(nb):
                sl = slice(b * cfg.batch_size, (b + 1) * cfg.batch_size)
                # linear decay over the whole run, by progress through the epochs' pairs
                lr = cfg.lr * max(1e-4, 1.0 - (epoch - 1 + b / nb) / cfg.epochs)
                total += sgns_step(w_in, w_out, centre[sl], targets[sl], lr)
                step += 1
        mean = check_finite(total / max(len(centre), 1), epoch)    # per pair
        if log is not None:
            log(epoch, train_loss=mean, pairs=len(centre), lr=lr)
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
