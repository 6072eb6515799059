"""SGNS maths on plain tensors: skip-gram pairs, subsampling, the noise distribution, one
SGD step with the gradient written out, the loss, cosine neighbours.

The model is two matrices: input vectors ``w_in (V, D)`` (the word vectors) and output
vectors ``w_out (V, D)``; its hyper-parameters are passed as arguments.
"""

from __future__ import annotations

import numpy as np
import torch


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
