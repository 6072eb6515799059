"""word2vec skip-gram with negative sampling (SGNS) and frequent-word subsampling, batched
in torch, on the tokenized Japanese (`word2vec_ja`) or English (`word2vec_en`) side of
Tatoeba.

Source: seed article 004, section "word2vec" (a full-softmax skip-gram in NumPy on one
sentence — kept faithfully in `reprozoo.word2vec_numpy`), scaled up as in Mikolov et al.
2013, "Distributed Representations of Words and Phrases and their Compositionality":
for a centre word c and a context word o within a window drawn from 1..`window`,

    loss = -log σ(v_c·u_o) - Σ_{k=1..K} log σ(-v_c·u_k),   u_k ~ unigram(w)^0.75

with plain SGD on the touched rows (the gradient is written out, as in word2vec.c, not
taken by autograd; tests check it against autograd), the learning rate decaying linearly
to lr·1e-4, and each occurrence of word w kept with probability
``min(1, (sqrt(f/t) + 1) · t/f)``, f = count(w)/total (word2vec.c's and gensim's form of
the paper's 1 - sqrt(t/f)).

Data (file contract of the tokenize stage): data/processed/tatoeba/{train,test}.npz
(`<lang>_ids`, `<lang>_offsets`) and vocab_<lang>.json; `<unk>` and words below
`min_count` are dropped. Evaluation: nearest neighbours (cosine, input vectors) of
`queries`; the pair check on `pairs` (word, related word, unrelated word: score = the
fraction with sim(related) > sim(unrelated), the mean of both similarities, and how often
the related word is among the `neighbours` nearest); the held-out SGNS loss on the test
split; a 2-d PCA of the `plot_words` most frequent words.

Default profile (dim 100, window 5, 5 negatives, t = 1e-3, 5 epochs; seed 0), measured
by helper C2 with `OMP_NUM_THREADS=1 python pipelines/train.py word2vec_<lang>` +
`evaluate.py`: English 318 k tokens, 4,328 words, 17 s CPU, pair score 38/40 = 0.95
(mean cos related 0.81 vs unrelated 0.48; related word in the top 8 for 50 %), dog → cat,
eat → drink; Japanese 396 k tokens, 5,570 words, 19 s CPU, pair score 37/39 = 0.95 (0.82
vs 0.51; top 8: 49 %), 犬 → 猫, 猫 → 犬. gensim 4.4 (same corpus and hyperparameters, one
worker): 0.95 / 0.97, about 4.3× our words/s (`python benchmarks/word2vec.py`).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.errors import DataError
from reprozoo.io import read_json, write_text
from reprozoo.metrics import check_finite

SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")


@dataclasses.dataclass(frozen=True)
class Config:
    lang: Literal["ja", "en"] = "en"
    dim: int = param(100, gt=0, doc="vector size")
    window: int = param(5, gt=0, doc="max context distance; drawn from 1..window per word")
    negative: int = param(5, gt=0, doc="noise words per positive pair")
    min_count: int = param(3, gt=0, doc="drop words rarer than this in the training split")
    sample: float = param(1e-3, ge=0.0, doc="subsampling threshold t; 0 = keep every word")
    epochs: int = param(5, gt=0)
    batch_size: int = param(1024, gt=0, doc="positive pairs per SGD step")
    lr: float = param(0.025, gt=0.0, doc="initial SGD step, linear decay to lr*1e-4")
    train_limit: int = param(0, ge=0, doc="first n training sentences; 0 = all")
    queries: tuple[str, ...] = ("dog", "cat", "school", "eat")
    pairs: str = param("data/static/w2v_pairs_en.tsv", doc="word<TAB>related<TAB>unrelated")
    neighbours: int = param(8, gt=0)
    plot_words: int = param(80, gt=1)


# ------------------------------------------------------------------ corpus
def load_corpus(data_dir: Path, lang: str, split: str, limit: int = 0
                ) -> tuple[list[str], list[np.ndarray]]:
    """(itos, sentences as int arrays of the tokenize stage's vocabulary ids)."""
    vpath, apath = data_dir / f"vocab_{lang}.json", data_dir / f"{split}.npz"
    for p in (vpath, apath):
        if not p.exists():
            raise DataError(f"{p}: missing; run the prepare stage first (dvc repro prepare@tatoeba)")
    itos = read_json(vpath)["itos"]
    z = np.load(apath)
    ids, off = z[f"{lang}_ids"].astype(np.int64), z[f"{lang}_offsets"]
    if len(ids) and ids.max() >= len(itos):
        raise DataError(f"{apath}: token id {ids.max()} outside vocab_{lang}.json ({len(itos)} "
                        "words): the arrays and the vocabulary come from different runs")
    n = len(off) - 1 if not limit else min(limit, len(off) - 1)
    return itos, [ids[off[i]:off[i + 1]] for i in range(n)]


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c / gensim subsampling: P(keep w) = min(1, (sqrt(f/t) + 1) t/f),
    f = count/total. (Mikolov et al. 2013 write the discard probability 1 - sqrt(t/f).)"""
    if sample <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        p = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.minimum(p, 1.0)


def skipgram_pairs(sents: list[np.ndarray], window: int, rng: np.random.Generator
                   ) -> np.ndarray:
    """All (centre, context) pairs (P, 2) within each sentence, the reach of each centre
    drawn uniformly from 1..window (word2vec.c's 'reduced window')."""
    if not sents:
        return np.zeros((0, 2), np.int64)
    toks = np.concatenate(sents)
    sid = np.repeat(np.arange(len(sents)), [len(s) for s in sents])
    reach = rng.integers(1, window + 1, len(toks))
    out = []
    for d in range(1, window + 1):
        i = np.arange(len(toks) - d)
        ok = (sid[i] == sid[i + d])
        fwd = i[ok & (reach[i] >= d)]                 # centre i, context i+d
        bwd = i[ok & (reach[i + d] >= d)]             # centre i+d, context i
        out.append(np.stack([toks[fwd], toks[fwd + d]], 1))
        out.append(np.stack([toks[bwd + d], toks[bwd]], 1))
    return np.concatenate(out)


class Vocab:
    """Words of the training split with count ≥ min_count (specials dropped), by count."""

    def __init__(self, itos: list[str], sents: list[np.ndarray], min_count: int):
        counts = np.bincount(np.concatenate(sents), minlength=len(itos)) if sents else np.zeros(len(itos))
        for s in SPECIALS:
            if s in itos:
                counts[itos.index(s)] = 0
        keep = [i for i in np.argsort(-counts, kind="stable") if counts[i] >= min_count]
        if len(keep) < 2:
            raise DataError(f"fewer than 2 words occur ≥ min_count={min_count} times")
        self.words = [itos[i] for i in keep]
        self.counts = counts[keep].astype(np.float64)
        self.remap = np.full(len(itos), -1, np.int64)
        self.remap[keep] = np.arange(len(keep))
        self.index = {w: i for i, w in enumerate(self.words)}

    def encode(self, sents: list[np.ndarray]) -> list[np.ndarray]:
        out = [self.remap[s] for s in sents]
        return [s[s >= 0] for s in out]


# ------------------------------------------------------------------ model
def sgns_step(w_in: torch.Tensor, w_out: torch.Tensor, centre: torch.Tensor,
              context: torch.Tensor, negs: torch.Tensor, lr: float) -> float:
    """One SGD step on a batch; returns the mean loss before the update. centre, context
    (B,), negs (B, K). Gradients written out (checked against autograd in the tests)."""
    v = w_in[centre]                                   # (B, D)
    u = w_out[context]                                 # (B, D)
    un = w_out[negs]                                   # (B, K, D)
    sp = torch.sigmoid((v * u).sum(-1))                # (B,)
    sn = torch.sigmoid(torch.einsum("bd,bkd->bk", v, un))  # (B, K)
    loss = -(torch.log(sp.clamp_min(1e-7)) + torch.log((1 - sn).clamp_min(1e-7)).sum(-1)).mean()
    gp = (sp - 1.0)[:, None]                           # dL/d(v·u)
    gn = sn[..., None]                                 # dL/d(v·u_k)
    dv = gp * u + (gn * un).sum(1)
    w_out.index_add_(0, context, -lr * gp * v)
    w_out.index_add_(0, negs.flatten(), (-lr * gn * v[:, None, :]).flatten(0, 1))
    w_in.index_add_(0, centre, -lr * dv)
    return float(loss)


def sgns_loss(w_in: torch.Tensor, w_out: torch.Tensor, centre: torch.Tensor,
              context: torch.Tensor, negs: torch.Tensor) -> torch.Tensor:
    """The mean SGNS loss (differentiable; used for held-out scoring and the tests)."""
    v, u, un = w_in[centre], w_out[context], w_out[negs]
    pos = torch.nn.functional.logsigmoid((v * u).sum(-1))
    neg = torch.nn.functional.logsigmoid(-torch.einsum("bd,bkd->bk", v, un)).sum(-1)
    return -(pos + neg).mean()


def noise_table(counts: np.ndarray) -> torch.Tensor:
    p = counts ** 0.75
    return torch.tensor(p / p.sum(), dtype=torch.float64)


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


# ------------------------------------------------------------------ evaluation helpers
def unit(w: torch.Tensor) -> torch.Tensor:
    return w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)


def nearest(vecs: torch.Tensor, words: list[str], index: dict[str, int], word: str, k: int
            ) -> list[tuple[str, float]]:
    if word not in index:
        return []
    sims = unit(vecs) @ unit(vecs)[index[word]]
    sims[index[word]] = -2.0
    top = torch.topk(sims, min(k, len(words) - 1))
    return [(words[i], float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]


def read_pairs(path: Path) -> list[tuple[str, str, str]]:
    if not path.exists():
        raise DataError(f"{path}: pair list missing (word<TAB>related<TAB>unrelated)")
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{n}: expected 3 tab-separated words, got {len(row)}")
            rows.append((row[0], row[1], row[2]))
    return rows


def pair_check(vecs: torch.Tensor, words: list[str], index: dict[str, int],
               pairs: list[tuple[str, str, str]], k: int) -> dict[str, float]:
    """score = fraction of (w, rel, unrel) with cos(w, rel) > cos(w, unrel); pairs with a
    word outside the vocabulary are skipped and counted."""
    u = unit(vecs)
    wins, rel, unrel, hits, used = 0, [], [], 0, 0
    for w, r, x in pairs:
        if not all(t in index for t in (w, r, x)):
            continue
        used += 1
        sr = float(u[index[w]] @ u[index[r]])
        sx = float(u[index[w]] @ u[index[x]])
        wins += sr > sx
        rel.append(sr)
        unrel.append(sx)
        hits += r in {n for n, _ in nearest(vecs, words, index, w, k)}
    if not used:
        raise DataError("no word pair has all three words in the vocabulary")
    return {"score": wins / used, "mean_sim_related": float(np.mean(rel)),
            "mean_sim_unrelated": float(np.mean(unrel)), f"related_in_top{k}": hits / used,
            "pairs_used": used, "pairs_skipped": len(pairs) - used}


def _cjk_font() -> str | None:
    return plots.cjk_font()


def plot_pca(vecs: torch.Tensor, words: list[str], n: int, path: Path, title: str) -> list[str]:
    """2-d PCA of the first n (most frequent) words; returns TSV rows word, x, y. Without
    a font that has the words' glyphs, points are numbered and the TSV is the legend."""
    x = unit(vecs[:n]).double()
    x = x - x.mean(0)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ vt[:2].T).numpy()
    xy *= np.sign(xy[np.abs(xy).argmax(0), [0, 1]])     # fix the SVD sign ambiguity
    ascii_only = all(w.isascii() for w in words[:n])
    font = None if ascii_only else _cjk_font()
    fig, ax = plots.figure(figsize=(8, 7))
    ax.scatter(xy[:, 0], xy[:, 1], s=8)
    for i, w in enumerate(words[:n]):
        label = w if ascii_only or font else str(i + 1)
        ax.annotate(label, xy[i], fontsize=7, fontfamily=font or "DejaVu Sans")
    ax.set_title(title + ("" if ascii_only or font else " (numbers: rank, see pca_words.tsv)"))
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    plots.savefig(fig, path)
    return [f"{i + 1}\t{w}\t{xy[i, 0]:.4f}\t{xy[i, 1]:.4f}" for i, w in enumerate(words[:n])]


# ------------------------------------------------------------------ family API
def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    import time

    itos, sents = load_corpus(ctx.data_dir, cfg.lang, "train", cfg.train_limit)
    vocab = Vocab(itos, sents, cfg.min_count)
    t0 = time.perf_counter()
    w_in, w_out, stats = fit(cfg, vocab, vocab.encode(sents), ctx.seed, log=ctx.log_step)
    secs = time.perf_counter() - t0
    ctx.tracker.log_metrics({"train_seconds": secs, "words_per_second": stats["words_seen"] / secs})
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curve.png",
                          groups={"SGNS loss": ["train_loss"]}, title=ctx.name)
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"w_in": w_in, "w_out": w_out, "words": vocab.words,
                           "counts": torch.tensor(vocab.counts)})
    return {**stats, "vocab_size": len(vocab.words)}


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    blob = checkpoint.load(ctx.model_path, family=ctx.name)
    st = blob["state"]
    words: list[str] = st["words"]
    w_in, w_out = st["w_in"], st["w_out"]
    if w_in.shape[0] != len(words):
        raise DataError(f"{ctx.model_path}: {w_in.shape[0]} vectors for {len(words)} words")
    index = {w: i for i, w in enumerate(words)}
    nn_lines, nn_metrics = [f"# nearest neighbours ({ctx.name}, cosine of input vectors)", ""], {}
    for q in cfg.queries:
        got = nearest(w_in, words, index, q, cfg.neighbours)
        nn_metrics[q] = " ".join(w for w, _ in got) if got else "(not in vocabulary)"
        nn_lines.append(f"- **{q}**: " + (", ".join(f"{w} ({s:.2f})" for w, s in got) or "not in vocabulary"))
    write_text(ctx.report_dir / "neighbours.md", "\n".join(nn_lines) + "\n")
    check = pair_check(w_in, words, index, read_pairs(Path(cfg.pairs)), cfg.neighbours)
    # held-out SGNS loss on the test split (fixed seed: same pairs and noise every run)
    itos, test = load_corpus(ctx.data_dir, cfg.lang, "test")
    remap = {i: index[w] for i, w in enumerate(itos) if w in index}
    test = [np.array([remap[t] for t in s if t in remap], np.int64) for s in test]
    rng = np.random.default_rng(ctx.seed)
    pairs = torch.from_numpy(skipgram_pairs(test, cfg.window, rng))
    g = torch.Generator().manual_seed(ctx.seed)
    negs = torch.multinomial(noise_table(st["counts"].numpy()), len(pairs) * cfg.negative,
                             replacement=True, generator=g).view(len(pairs), cfg.negative)
    with torch.no_grad():
        test_loss = float(sgns_loss(w_in, w_out, pairs[:, 0], pairs[:, 1], negs)) if len(pairs) else float("nan")
    rows = plot_pca(w_in, words, cfg.plot_words, ctx.report_dir / "pca.png",
                    f"{ctx.name}: top {cfg.plot_words} words, PCA of the vectors")
    write_text(ctx.report_dir / "pca_words.tsv", "rank\tword\tpc1\tpc2\n" + "\n".join(rows) + "\n")
    return {"pairs": check, "neighbours": nn_metrics, "test_sgns_loss": test_loss,
            "test_pairs": len(pairs), "vocab_size": len(words)}
