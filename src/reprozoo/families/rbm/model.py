"""Bernoulli–Bernoulli RBM maths (no I/O): conditionals, free energy, CD-k / PCD updates,
pseudo-log-likelihood and annealed importance sampling (AIS) for log Z.

Energy (Hinton 2010, "A practical guide to training RBMs"; the seed article 003):

    E(v, h) = -b·v - c·h - vᵀ W h,        W (V, H), b (V,), c (H,)
    p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij)
    p(v_i = 1 | h) = σ(b_i + Σ_j W_ij h_j)
    F(v) = -b·v - Σ_j softplus(c_j + (vW)_j)          free energy, p(v) = e^{-F(v)} / Z

AIS follows Salakhutdinov & Murray (2008), "On the quantitative analysis of deep belief
networks": a base-rate RBM (W = 0, visible biases from the data marginals) annealed to the
trained RBM along a ladder of inverse temperatures β.

The training loop (momentum SGD on these statistics) is in train.py, the scoring in
evaluate.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    n_hidden: int
    n_visible: int = 784  # 28×28 binarized pixels


@dataclass
class RBM:
    W: torch.Tensor  # (V, H)
    b: torch.Tensor  # (V,) visible biases
    c: torch.Tensor  # (H,) hidden biases

    @classmethod
    def init(cls, mcfg: ModelConfig, g: torch.Generator, device: object = "cpu",
             visible_mean: torch.Tensor | None = None) -> "RBM":
        """W ~ N(0, 0.01²); b = log(p/(1-p)) of the data marginals (Hinton 2010, §8)."""
        W = (0.01 * torch.randn(mcfg.n_visible, mcfg.n_hidden, generator=g)).to(device)
        b = torch.zeros(mcfg.n_visible, device=device)
        if visible_mean is not None:
            p = visible_mean.clamp(1e-3, 1 - 1e-3)
            b = torch.log(p / (1 - p)).to(device)
        return cls(W, b, torch.zeros(mcfg.n_hidden, device=device))

    def state(self) -> dict[str, torch.Tensor]:
        return {"W": self.W.detach().cpu(), "b": self.b.detach().cpu(), "c": self.c.detach().cpu()}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], device: object = "cpu") -> "RBM":
        return cls(state["W"].to(device), state["b"].to(device), state["c"].to(device))

    # ------------------------------------------------------------ conditionals
    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """p(h=1|v): (B, V) → (B, H)."""
        return torch.sigmoid(v @ self.W + self.c)

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        """p(v=1|h): (B, H) → (B, V)."""
        return torch.sigmoid(h @ self.W.T + self.b)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v): (B, V) → (B,)."""
        return -(v @ self.b) - F.softplus(v @ self.W + self.c).sum(1)

    def gibbs(self, v: torch.Tensor, k: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """k steps v → h → v; returns (v_k sampled, p(h|v_k))."""
        for _ in range(k):
            h = bernoulli(self.p_h(v), g)
            v = bernoulli(self.p_v(h), g)
        return v, self.p_h(v)

    def reconstruction_error(self, v: torch.Tensor) -> torch.Tensor:
        """Squared error per image (summed over pixels) of v vs p(v | p(h|v)): (B,)."""
        return ((v - self.p_v(self.p_h(v))) ** 2).sum(1)

    def pseudo_log_likelihood(self, v: torch.Tensor, g: torch.Generator, n_bits: int = 1) -> torch.Tensor:
        """Stochastic PLL per image (B,): V · mean over `n_bits` random pixels i of
        log p(v_i | v_-i) = log σ(F(v with i flipped) - F(v)) (as sklearn's score_samples)."""
        n, d = v.shape
        fe = self.free_energy(v)
        total = torch.zeros(n, device=v.device)
        rows = torch.arange(n, device=v.device)
        for _ in range(n_bits):
            i = torch.randint(0, d, (n,), generator=g).to(v.device)
            flipped = v.clone()
            flipped[rows, i] = 1 - flipped[rows, i]
            total += F.logsigmoid(self.free_energy(flipped) - fe)
        return d * total / n_bits


def bernoulli(p: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Bernoulli samples of `p` drawn from the (CPU) generator `g`, on p's device."""
    u = torch.rand(p.shape, generator=g, device=g.device)
    return (u.to(p.device) < p).to(p.dtype)


def cd_gradient(rbm: RBM, v0: torch.Tensor, v_neg: torch.Tensor, k: int,
                g: torch.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Contrastive-divergence statistics for a batch.

    Positive phase from the data v0, negative phase after k Gibbs steps started at
    `v_neg` (= v0 for CD-k; the persistent chains for PCD). Returns ((dW, db, dc), v_k):
    the ascent direction on the log-likelihood and the new chain state."""
    ph0 = rbm.p_h(v0)
    vk, phk = rbm.gibbs(v_neg, k, g)
    n0, nk = len(v0), len(vk)
    dW = v0.T @ ph0 / n0 - vk.T @ phk / nk
    db = v0.mean(0) - vk.mean(0)
    dc = ph0.mean(0) - phk.mean(0)
    return (dW, db, dc), vk


# ------------------------------------------------------------------ AIS / exact
def base_rate_bias(v: torch.Tensor) -> torch.Tensor:
    """Visible biases of the base-rate model: log-odds of the (smoothed) pixel means."""
    p = (v.sum(0) + 5 * 0.5) / (len(v) + 5)  # pseudo-counts keep the log-odds finite
    return torch.log(p / (1 - p))


def ais_log_z(rbm: RBM, b_a: torch.Tensor, n_runs: int, n_betas: int,
              g: torch.Generator, on_step: Callable[[int], object] | None = None) -> tuple[float, float]:
    """AIS estimate of log Z and its ±3 s.d. half-width (in log space, over runs).
    `on_step(n)` is called after every n temperatures (progress display).

    Intermediate distributions p_β(v) ∝ exp((1-β) b_a·v + β b·v) Π_j (1 + exp(β(c_j + vW_j))),
    so β=0 is the base-rate model with log Z_A = Σ_i softplus(b_a,i) + H log 2."""
    V, H = rbm.W.shape
    dev = rbm.W.device
    # the spacing Salakhutdinov & Murray use: coarse at high temperature, fine near β = 1
    betas = torch.cat([torch.linspace(0, 0.5, max(2, n_betas // 28)),
                       torch.linspace(0.5, 0.9, max(2, n_betas * 4 // 28))[1:],
                       torch.linspace(0.9, 1.0, max(2, n_betas * 23 // 28))[1:]]).tolist()

    def log_p(v: torch.Tensor, beta: float) -> torch.Tensor:
        return ((1 - beta) * (v @ b_a) + beta * (v @ rbm.b)
                + F.softplus(beta * (v @ rbm.W + rbm.c)).sum(1))

    v = bernoulli(torch.sigmoid(b_a).expand(n_runs, V), g)
    log_w = torch.zeros(n_runs, device=dev)
    for b_prev, b_next in zip(betas[:-1], betas[1:]):
        log_w += log_p(v, b_next) - log_p(v, b_prev)
        h = bernoulli(torch.sigmoid(b_next * (v @ rbm.W + rbm.c)), g)
        v = bernoulli(torch.sigmoid((1 - b_next) * b_a + b_next * (h @ rbm.W.T + rbm.b)), g)
        if on_step is not None:
            on_step(1)
    log_z_a = float(F.softplus(b_a).sum()) + H * math.log(2)
    lw = log_w.double()
    log_mean = float(torch.logsumexp(lw, 0) - math.log(n_runs))
    # uncertainty: log(mean w ± 3 sd/sqrt(n)) relative to log(mean w)
    w = torch.exp(lw - lw.max())
    rel = float(3 * w.std() / math.sqrt(n_runs) / w.mean()) if n_runs > 1 else float("nan")
    return log_z_a + log_mean, rel


def exact_log_z(rbm: RBM) -> float:
    """log Z by enumerating every visible vector (only for tiny RBMs: V ≤ 20)."""
    V = rbm.W.shape[0]
    v = all_binary(V, rbm.W.device, rbm.W.dtype)
    return float(torch.logsumexp(-rbm.free_energy(v), 0))


def all_binary(n: int, device: object = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(2^n, n) every binary vector of length n."""
    idx = torch.arange(2 ** n, device=device)
    return ((idx[:, None] >> torch.arange(n, device=device)[None, :]) & 1).to(dtype)
