"""Funk-SVD with biases, the pure model: the article's one-rating update, the parameters
μ, b_u, b_i, P, Q with their mini-batch step, RMSE, and top-k recommendation.

``r̂_ui = μ + b_u + b_i + q_iᵀ p_u``; the loss per observed rating is
``(r_ui − r̂_ui)² + λ_b (b_u² + b_i²) + λ (‖p_u‖² + ‖q_i‖²)`` (seed article 004).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    factors: int     # latent dimension k (0 = bias-only model)
    init_std: float  # std of the normal initialization of P and Q


# ------------------------------------------------------------------ the article's step
def sgd_step(p: float, q: float, r: float, r_hat: float, alpha: float,
             lam: float = 0.0) -> tuple[float, float]:
    """One SGD update of the article on a single rating, for one latent coordinate.

    Loss e² + λ(p² + q²) with e = r − r̂: ∂/∂p = −2 e q + 2 λ p, so
    p ← p + 2α(e q − λ p), q ← q + 2α(e p − λ q) (both from the old values).
    With α=0.1, r=8, r̂=1.6, q=1.3, λ=0: p = 1.4 → 1.4 + 2·0.1·6.4·1.3 = 3.064.
    """
    e = r - r_hat
    return p + 2 * alpha * (e * q - lam * p), q + 2 * alpha * (e * p - lam * q)


# ------------------------------------------------------------------ model
class BiasedMF:
    """Parameters μ, b_u (U,), b_i (I,), P (U,k), Q (I,k) as plain tensors on one device."""

    def __init__(self, cfg: ModelConfig, n_users: int, n_items: int, mu: float,
                 g: torch.Generator, device: Any = "cpu"):
        self.mu = torch.tensor(float(mu), device=device)
        self.bu = torch.zeros(n_users, device=device)
        self.bi = torch.zeros(n_items, device=device)
        self.P = (torch.randn(n_users, cfg.factors, generator=g) * cfg.init_std).to(device)  # (U, k)
        self.Q = (torch.randn(n_items, cfg.factors, generator=g) * cfg.init_std).to(device)  # (I, k)

    def predict(self, u: torch.Tensor, i: torch.Tensor, clip: bool = True) -> torch.Tensor:
        r = self.mu + self.bu[u] + self.bi[i] + (self.P[u] * self.Q[i]).sum(1)  # (B,)
        return r.clamp(1.0, 5.0) if clip else r

    def step(self, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor, lr: float, reg: float,
             lr_b: float | None = None, reg_b: float | None = None) -> float:
        """One mini-batch of the article's update; returns the batch's summed squared error.
        The readable reference form: `fit` takes the same step as sparse products
        (sgd.step, checked against this one in tests/test_mf.py).

        `lr` is the article's 2α (the factor 2 of the squared error's gradient folded into
        the step size, as Surprise and Funk write it): p ← p + lr (e q − λ p). The biases
        may take their own step and L2 weight (`lr_b`, `reg_b`; default `lr`, `reg`), as
        Surprise's SVD allows (lr_bu/lr_bi, reg_bu/reg_bi)."""
        lr_b = lr if lr_b is None else lr_b
        reg_b = reg if reg_b is None else reg_b
        e = r - self.predict(u, i, clip=False)  # (B,)
        pu, qi = self.P[u], self.Q[i]           # (B,k) old values, as in the per-rating rule
        self.bu.index_add_(0, u, lr_b * (e - reg_b * self.bu[u]))
        self.bi.index_add_(0, i, lr_b * (e - reg_b * self.bi[i]))
        self.P.index_add_(0, u, lr * (e[:, None] * qi - reg * pu))
        self.Q.index_add_(0, i, lr * (e[:, None] * pu - reg * qi))
        return float((e * e).sum())

    def state(self) -> dict[str, torch.Tensor]:
        return {"mu": self.mu.cpu(), "bu": self.bu.cpu(), "bi": self.bi.cpu(),
                "P": self.P.cpu(), "Q": self.Q.cpu()}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], device: Any = "cpu") -> "BiasedMF":
        m = cls.__new__(cls)
        for k in ("mu", "bu", "bi", "P", "Q"):
            setattr(m, k, state[k].to(device))
        return m


def rmse(model: BiasedMF, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model.predict(u, i) - r) ** 2).mean().sqrt())


# ------------------------------------------------------------------ recommend
def recommend(model: BiasedMF, user: int, rated: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Top-k (item index, predicted rating) among items not in `rated` for user index `user`."""
    n_items = len(model.bi)
    items = torch.arange(n_items)
    with torch.no_grad():
        pred = model.predict(torch.full((n_items,), user), items)  # (I,)
    pred[torch.as_tensor(rated, dtype=torch.long)] = -math.inf
    top = torch.topk(pred, min(k, n_items - len(set(rated.tolist()))))
    return [(int(j), float(v)) for v, j in zip(top.values, top.indices)]
