"""SGNS maths on plain arrays and tensors: skip-gram pairs, subsampling, the noise
distribution, one SGD step with the gradient written out, the loss, cosine neighbours.

The model is two matrices: input vectors ``w_in (V, D)`` (the word vectors) and output
vectors ``w_out (V, D)``; its hyper-parameters are passed as arguments.

Speed (benchmarks/word2vec.py): a whole epoch's pairs and noise words are drawn at once
in numpy, and the step is a handful of batched tensor ops (one gather of the context and
noise rows, one index_add_ into each matrix) with no autograd graph, so the Python loop
costs little against the arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c / gensim subsampling: P(keep w) = min(1, (sqrt(f/t) + 1) t/f),
    f = count/total. (Mikolov et al. 2013 write the discard probability 1 - sqrt(t/f).)"""
    if sample <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        p = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.minimum(p, 1.0)


def flatten(sents: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (N,), sentence index of each token (N,)): the corpus as two flat arrays."""
    if not sents:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (np.concatenate(sents).astype(np.int64, copy=False),
            np.repeat(np.arange(len(sents)), [len(s) for s in sents]))


def window_pairs(toks: np.ndarray, sid: np.ndarray, window: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """All (centre, context) pairs (P, 2) of the flat corpus `toks` that lie in one sentence
    (`sid`), the reach of each centre drawn uniformly from 1..window (word2vec.c's 'reduced
    window'): token i is the centre of token j iff 0 < |i-j| <= reach[i]. Ordered by
    distance d, then forward (context i+d) before backward (context i-d), then position."""
    reach = rng.integers(1, window + 1, len(toks))
    out = [np.zeros((0, 2), np.int64)]
    for d in range(1, min(window, len(toks) - 1) + 1):
        ok = sid[:-d] == sid[d:]                      # (N-d,) i and i+d share a sentence
        fwd = np.flatnonzero(ok & (reach[:-d] >= d))  # centre i, context i+d
        bwd = np.flatnonzero(ok & (reach[d:] >= d))   # centre i+d, context i
        out.append(np.stack([toks[fwd], toks[fwd + d]], 1))
        out.append(np.stack([toks[bwd + d], toks[bwd]], 1))
    return np.concatenate(out)


def skipgram_pairs(sents: list[np.ndarray], window: int, rng: np.random.Generator
                   ) -> np.ndarray:
    """`window_pairs` of a list of sentences."""
    return window_pairs(*flatten(sents), window, rng)


class NoiseSampler:
    """Draws from unigram(w)^0.75 (Mikolov et al. 2013) by Walker's alias method: exact
    (unlike word2vec.c's 1e8-slot table) and two uniform numbers a draw, so an epoch's
    noise words (pairs x negative) take tens of ms in numpy instead of a multinomial a
    batch."""

    def __init__(self, counts: np.ndarray):
        p = np.asarray(counts, np.float64) ** 0.75
        n = len(p)
        scaled = p / p.sum() * n                   # mean 1: each column holds mass 1
        prob, alias = np.ones(n), np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:                     # Vose's construction
            lo, hi = small.pop(), large.pop()
            prob[lo], alias[lo] = scaled[lo], hi
            scaled[hi] -= 1.0 - scaled[lo]
            (small if scaled[hi] < 1.0 else large).append(hi)
        # what is left holds mass 1 up to rounding: prob 1, its own alias
        self.prob = prob.astype(np.float32)        # float32/int32: half the memory traffic
        self.alias = alias.astype(np.int32)

    def probabilities(self) -> np.ndarray:
        """The distribution the draws follow (for the tests): column mass plus aliased mass."""
        n = len(self.prob)
        p = self.prob.astype(np.float64) / n
        np.add.at(p, self.alias, (1.0 - self.prob.astype(np.float64)) / n)
        return p

    def draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        col = rng.integers(0, len(self.prob), shape, dtype=np.int32)
        return np.where(rng.random(shape, dtype=np.float32) < self.prob[col], col, self.alias[col])


def sgns_step(w_in: torch.Tensor, w_out: torch.Tensor, centre: torch.Tensor,
              targets: torch.Tensor, lr: float) -> float:
    """One SGD step on a batch, in place; returns the summed loss before the update.
    centre (B,); targets (B, 1+K): column 0 the context word, then K noise words.

    The gradient is written out (the tests check it against autograd's): a score
    s = v.u with label y (1 for the context, 0 for noise) has dL/ds = sigmoid(s) - y,
    dL/dv = sum_k dL/ds_k u_k and dL/du_k = dL/ds_k v. A row touched twice in a batch
    gets both updates added (index_add_), as word2vec.c's per-pair updates up to order.
    The learning rate applies per pair, as in word2vec.c, not to a batch mean."""
    b, k1 = targets.shape
    flat = targets.reshape(-1)                         # (B(1+K),)
    v = w_in.index_select(0, centre)                   # (B, D)
    u = w_out.index_select(0, flat).view(b, k1, -1)    # (B, 1+K, D)
    # (B, 1+K) scores; numpy's stacked matmul (zero-copy views) takes about half the time
    # of torch's u*v sum or bmm on these (1+K, D)·(D,) products on CPU
    s = torch.from_numpy(np.matmul(u.numpy(), v.numpy()[:, :, None])).view(b, k1)
    s[:, 0].neg_()                                     # -s for the context: loss = sum softplus
    loss = float(F.softplus(s).sum())
    g = torch.sigmoid(s)                               # sigmoid(-s0) = -dL/ds0, sigmoid(sk) = dL/dsk
    g[:, 0].neg_()
    g.mul_(-lr)                                        # (B, 1+K) the step -lr dL/ds
    # -lr dL/dv = sum_k g_k u_k; embedding_bag gathers and weights in one pass
    dv = F.embedding_bag(targets, w_out, per_sample_weights=g, mode="sum")      # (B, D)
    # -lr dL/du_k = g_k v, written over u (spent by now): that memory is still in cache,
    # a fresh (B, 1+K, D) buffer is not, which made this step about 30% slower
    du = torch.mul(g.unsqueeze(2), v.unsqueeze(1), out=u)
    w_out.index_add_(0, flat, du.view(b * k1, -1))
    w_in.index_add_(0, centre, dv)
    return loss


def sgns_loss(w_in: torch.Tensor, w_out: torch.Tensor, centre: torch.Tensor,
              context: torch.Tensor, negs: torch.Tensor) -> torch.Tensor:
    """The mean SGNS loss (differentiable; used for held-out scoring and the tests)."""
    v, u, un = w_in[centre], w_out[context], w_out[negs]
    pos = F.logsigmoid((v * u).sum(-1))
    neg = F.logsigmoid(-torch.einsum("bd,bkd->bk", v, un)).sum(-1)
    return -(pos + neg).mean()


def noise_table(counts: np.ndarray) -> torch.Tensor:
    p = counts ** 0.75
    return torch.tensor(p / p.sum(), dtype=torch.float64)


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
