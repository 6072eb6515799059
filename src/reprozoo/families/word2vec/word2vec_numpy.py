"""The seed article's skip-gram word2vec in NumPy, kept small and faithful: one-hot input,
weights ``W1 (V, N)`` and ``W2 (N, V)``, a full softmax over the vocabulary, and the error
summed over the context words of each target.

The article trains on a single sentence, "natural language processing and machine
learning is fun and exciting" (10 tokens, 9 distinct words: "and" occurs twice), with
window size 2, N = 10 dimensions, 50 epochs, learning rate 0.01, weights drawn from
uniform(-1, 1). Its vocabulary is in order of first occurrence; the window is clipped at the sentence edges, so the first word has 2
context words and a middle word 4. For one target with one-hot ``x`` and context words C::

    h  = W1.T @ x                       # (N,)  = the target's row of W1
    u  = W2.T @ h                       # (V,)
    y  = softmax(u)
    EI = sum_{c in C} (y - onehot(c))   # (V,)  error summed over the context words
    dW2 = outer(h, EI);  dW1 = outer(x, W2 @ EI)
    loss = -sum_{c in C} u[c] + |C| * log(sum exp(u))

`tests/test_word2vec.py` checks the vocabulary, the windows and these gradients against
torch autograd. The scalable model (negative sampling, subsampling, batches) is
`reprozoo.families.word2vec`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

ARTICLE_SENTENCE = "natural language processing and machine learning is fun and exciting"


def training_pairs(tokens: list[str], window: int) -> list[tuple[str, list[str]]]:
    """(target, context words) for every position; the window is clipped at the edges."""
    out = []
    for i, w in enumerate(tokens):
        ctx = [tokens[j] for j in range(max(0, i - window), min(len(tokens), i + window + 1)) if j != i]
        out.append((w, ctx))
    return out


@dataclasses.dataclass
class SkipGramSoftmax:
    """Full-softmax skip-gram; `fit` sets ``vocab_``, ``index_``, ``W1_``, ``W2_``."""

    dim: int = 10
    window: int = 2
    epochs: int = 50
    lr: float = 0.01
    seed: int = 0

    def fit(self, sentences: list[list[str]]) -> "SkipGramSoftmax":
        self.vocab_ = list(dict.fromkeys(w for s in sentences for w in s))  # first occurrence
        self.index_ = {w: i for i, w in enumerate(self.vocab_)}
        rng = np.random.default_rng(self.seed)
        v = len(self.vocab_)
        self.W1_ = rng.uniform(-1.0, 1.0, (v, self.dim))   # the article's init range
        self.W2_ = rng.uniform(-1.0, 1.0, (self.dim, v))
        pairs = [p for s in sentences for p in training_pairs(s, self.window)]
        self.losses_ = []
        for _ in range(self.epochs):
            total = 0.0
            for target, ctx in pairs:
                loss, dw1, dw2 = self.loss_and_grads(self.index_[target], [self.index_[c] for c in ctx])
                self.W1_ -= self.lr * dw1
                self.W2_ -= self.lr * dw2
                total += loss
            self.losses_.append(total)
        return self

    def loss_and_grads(self, target: int, context: list[int]
                       ) -> tuple[float, np.ndarray, np.ndarray]:
        """The article's loss for one target and its gradients w.r.t. W1 and W2."""
        v = self.W1_.shape[0]
        x = np.zeros(v)
        x[target] = 1.0
        h = self.W1_.T @ x                                # (N,)
        u = self.W2_.T @ h                                # (V,)
        y = np.exp(u - u.max())
        y /= y.sum()
        ei = len(context) * y
        np.subtract.at(ei, context, 1.0)                  # sum_c (y - onehot(c))
        dw2 = np.outer(h, ei)                             # (N, V)
        dw1 = np.outer(x, self.W2_ @ ei)                  # (V, N)
        m = u.max()
        loss = -float(u[context].sum()) + len(context) * float(m + np.log(np.exp(u - m).sum()))
        return loss, dw1, dw2

    def vector(self, word: str) -> np.ndarray:
        return self.W1_[self.index_[word]]

    def similar(self, word: str, k: int = 3) -> list[tuple[str, float]]:
        """The k nearest words by cosine similarity of W1 rows (the word vectors)."""
        w = self.W1_ / np.linalg.norm(self.W1_, axis=1, keepdims=True)
        sims = w @ w[self.index_[word]]
        order = [i for i in np.argsort(-sims, kind="stable") if self.vocab_[i] != word][:k]
        return [(self.vocab_[i], float(sims[i])) for i in order]
