"""The VAE network (pytorch/examples `vae`; Kingma & Welling 2014): encoder 784→hidden
(ReLU)→(μ, log σ²) ∈ R^latent, reparameterized z = μ + σ·ε, decoder latent→hidden
(ReLU)→784 Bernoulli logits; the loss per image is the summed BCE + KL(q(z|x) ‖ N(0, I))."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 400
    latent: int = 20


class VAE(nn.Module):
    def __init__(self, mcfg: ModelConfig):
        super().__init__()
        hidden, latent = mcfg.hidden, mcfg.latent
        self.fc1 = nn.Linear(784, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x.flatten(1)))  # (B, hidden)
        return self.fc_mu(h), self.fc_logvar(h)  # (B, latent) each

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits (…, 784)."""
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, loss per image): BCE summed over pixels + KL to N(0, I)."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decode(z)
        bce = F.binary_cross_entropy_with_logits(logits.float(), x.flatten(1), reduction="none").sum(1)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).float().sum(1)
        return logits, bce + kl
