"""The seed article's recurrent network in NumPy: forward pass and backpropagation through
time (BPTT) on one-hot characters, with its toy task, the next letter of "apple".

Model (one hidden layer, tanh state, softmax output), for t = 1..T::

    h_t = tanh(U x_t + W h_{t-1} + b)        # (H,)   x_t one-hot (V,), h_0 = 0
    y_t = softmax(V h_t + c)                 # (V,)   distribution of the next character
    L   = -sum_t log y_t[target_t]           # nats, summed over the sequence

BPTT walks t = T..1 carrying dL/dh_t from the future (``dh_next``) through the tanh
derivative ``1 - h_t**2`` — the article's derivation. `tests/test_rnn_numpy.py` checks
every gradient against torch autograd in float64 (relative error ≤ 1e-6) and that the
"apple" network learns a→p→p→l→e.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass
class CharRNN:
    """Parameters ``U (H,V)``, ``W (H,H)``, ``V (V,H)``, ``b (H,)``, ``c (V,)``; learned by
    `fit` (plain SGD with per-element gradient clipping, as in Karpathy's min-char-rnn)."""

    vocab: tuple[str, ...]
    hidden: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        nv, nh = len(self.vocab), self.hidden
        self.U = rng.normal(0, 0.1, (nh, nv))
        self.W = rng.normal(0, 0.1, (nh, nh))
        self.V = rng.normal(0, 0.1, (nv, nh))
        self.b = np.zeros(nh)
        self.c = np.zeros(nv)
        self.index = {ch: i for i, ch in enumerate(self.vocab)}

    # ----------------------------------------------------------------- helpers
    def params(self) -> dict[str, np.ndarray]:
        return {"U": self.U, "W": self.W, "V": self.V, "b": self.b, "c": self.c}

    def one_hot(self, text: str) -> np.ndarray:
        """(T, V) one-hot rows for the characters of `text`."""
        x = np.zeros((len(text), len(self.vocab)))
        x[np.arange(len(text)), [self.index[ch] for ch in text]] = 1.0
        return x

    # ----------------------------------------------------------------- forward / BPTT
    def forward(self, xs: np.ndarray, h0: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """xs (T, V) one-hot → hidden states hs (T+1, H) with hs[0] = h0, probs (T, V)."""
        T = len(xs)
        hs = np.zeros((T + 1, self.hidden))
        if h0 is not None:
            hs[0] = h0
        ps = np.zeros((T, len(self.vocab)))
        for t in range(T):
            hs[t + 1] = np.tanh(self.U @ xs[t] + self.W @ hs[t] + self.b)
            z = self.V @ hs[t + 1] + self.c
            e = np.exp(z - z.max())
            ps[t] = e / e.sum()
        return hs, ps

    def loss_and_grads(self, xs: np.ndarray, targets: Sequence[int], h0: np.ndarray | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """Summed cross-entropy (nats), gradients of every parameter, and the last state."""
        hs, ps = self.forward(xs, h0)
        T = len(xs)
        loss = -float(np.sum(np.log(ps[np.arange(T), targets])))
        g = {k: np.zeros_like(v) for k, v in self.params().items()}
        dh_next = np.zeros(self.hidden)            # dL/dh_{t} flowing back from step t+1
        for t in reversed(range(T)):
            dz = ps[t].copy()
            dz[targets[t]] -= 1.0                  # softmax + cross-entropy: y - onehot
            g["V"] += np.outer(dz, hs[t + 1])
            g["c"] += dz
            dh = self.V.T @ dz + dh_next
            da = (1.0 - hs[t + 1] ** 2) * dh       # through tanh
            g["U"] += np.outer(da, xs[t])
            g["W"] += np.outer(da, hs[t])
            g["b"] += da
            dh_next = self.W.T @ da
        return loss, g, hs[-1]

    # ----------------------------------------------------------------- training / use
    def fit(self, text: str, epochs: int = 300, lr: float = 0.1, clip: float = 5.0) -> list[float]:
        """Learn to predict text[t+1] from text[:t+1]; returns the loss per epoch."""
        xs = self.one_hot(text[:-1])
        targets = [self.index[ch] for ch in text[1:]]
        losses = []
        for _ in range(epochs):
            loss, g, _ = self.loss_and_grads(xs, targets)
            for k, p in self.params().items():
                p -= lr * np.clip(g[k], -clip, clip)
            losses.append(loss)
        return losses

    def predict_next(self, prefix: str) -> str:
        """The most probable character after `prefix`."""
        _, ps = self.forward(self.one_hot(prefix))
        return self.vocab[int(ps[-1].argmax())]
