"""word2vec evaluation: nearest neighbours of `queries` (neighbours.md), the pair check on
the pair list (`ctx.needs`), the held-out SGNS loss on the test split, and a 2-d PCA of
the most frequent words (pca.png, pca_words.tsv)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.errors import CheckpointError, DataError
from reprozoo.io import write_text

from .config import Config
from .data import load_corpus, read_pairs
from .model import nearest, noise_table, sgns_loss, skipgram_pairs, unit


def load_model(path: Path, family: str
               ) -> tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor]:
    """(words, input vectors (V, D), output vectors (V, D), counts (V,)) from the checkpoint
    at `path`, each checked against the saved config's `dim` and the word list."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    st = ck.state
    if not isinstance(st.get("words"), list):
        raise CheckpointError(f"{path}: checkpoint state lacks 'words' (the vocabulary)")
    words: list[str] = st["words"]
    shape = (len(words), ck.config.dim)
    w_in = checkpoint.tensor(st, "w_in", shape, path)
    w_out = checkpoint.tensor(st, "w_out", shape, path)
    counts = checkpoint.tensor(st, "counts", (len(words),), path)
    return words, w_in, w_out, counts


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


def plot_pca(vecs: torch.Tensor, words: list[str], n: int, path: Path, title: str) -> list[str]:
    """2-d PCA of the first n (most frequent) words; returns TSV rows word, x, y. Without
    a font that has the words' glyphs, points are numbered and the TSV is the legend."""
    x = unit(vecs[:n]).double()
    x = x - x.mean(0)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ vt[:2].T).numpy()                        # (n, 2)
    xy *= np.sign(xy[np.abs(xy).argmax(0), [0, 1]])     # fix the SVD sign ambiguity
    ascii_only = all(w.isascii() for w in words[:n])
    font = None if ascii_only else plots.cjk_font()
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


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    words, w_in, w_out, counts = load_model(ctx.model_path, ctx.name)
    if ctx.needs is None:
        raise DataError(f"{ctx.name}: no pair list given (the `needs` entry of families.{ctx.name} "
                        "in params.yaml: data/static/w2v_pairs_<lang>.tsv)")
    index = {w: i for i, w in enumerate(words)}
    nn_lines, nn_metrics = [f"# nearest neighbours ({ctx.name}, cosine of input vectors)", ""], {}
    for q in cfg.queries:
        got = nearest(w_in, words, index, q, cfg.neighbours)
        nn_metrics[q] = " ".join(w for w, _ in got) if got else "(not in vocabulary)"
        nn_lines.append(f"- **{q}**: " + (", ".join(f"{w} ({s:.2f})" for w, s in got) or "not in vocabulary"))
    write_text(ctx.report_dir / "neighbours.md", "\n".join(nn_lines) + "\n")
    check = pair_check(w_in, words, index, read_pairs(Path(ctx.needs)), cfg.neighbours)
    # held-out SGNS loss on the test split (fixed seed: same pairs and noise every run)
    itos, test = load_corpus(ctx.data_dir, cfg.lang, "test")
    remap = {i: index[w] for i, w in enumerate(itos) if w in index}
    test = [np.array([remap[t] for t in s if t in remap], np.int64) for s in test]
    rng = np.random.default_rng(ctx.seed)
    pairs = torch.from_numpy(skipgram_pairs(test, cfg.window, rng))
    g = torch.Generator().manual_seed(ctx.seed)
    negs = torch.multinomial(noise_table(counts.numpy()), len(pairs) * cfg.negative,
                             replacement=True, generator=g).view(len(pairs), cfg.negative)
    with torch.no_grad():
        test_loss = float(sgns_loss(w_in, w_out, pairs[:, 0], pairs[:, 1], negs)) if len(pairs) else float("nan")
    rows = plot_pca(w_in, words, cfg.plot_words, ctx.report_dir / "pca.png",
                    f"{ctx.name}: top {cfg.plot_words} words, PCA of the vectors")
    write_text(ctx.report_dir / "pca_words.tsv", "rank\tword\tpc1\tpc2\n" + "\n".join(rows) + "\n")
    return {"pairs": check, "neighbours": nn_metrics, "test_sgns_loss": test_loss,
            "test_pairs": len(pairs), "vocab_size": len(words)}
