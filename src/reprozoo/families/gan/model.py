"""The GAN networks: the seed article's MLP GAN and a DCGAN, as (G, D) pairs.

`arch: mlp` is the article's network (Goodfellow et al. 2014): G 100→128→256→512→1024→784
with BatchNorm, LeakyReLU(0.2) and Tanh; D 784→512→256→1 with LeakyReLU(0.2).
`arch: dcgan` follows Radford et al. 2016 scaled to 28×28: G z→(2w,7,7)→up→(w,14,14)→
up→(1,28,28) with BatchNorm/ReLU/Tanh, where "up" is a stride-2 transposed convolution
(`upsample: transposed`, Radford et al.) or nearest ×2 + 3×3 convolution (`resize`, Odena
et al. 2016); D two strided convs with LeakyReLU (BatchNorm on the second unless
`d_batchnorm: false`) and a linear logit. Either D can judge `pack` images at once
(PacGAN), append a minibatch standard-deviation feature (`mbstd_group`) and have its
layers spectrally normalized (`spectral_norm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    arch: Literal["mlp", "dcgan"] = "mlp"
    z_dim: int = 100
    width: int = 64  # DCGAN base channels (G: 2w→w, D: w→2w)
    upsample: Literal["transposed", "resize"] = "transposed"
    spectral_norm: bool = False
    pack: int = 1  # images D judges jointly (PacGAN)
    mbstd_group: int = 0  # minibatch-std group size in D (0 = off)
    d_batchnorm: bool = True


def build_model(mcfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """(G, D): G maps (B, z) → (B,1,28,28) in [-1,1]; D maps images → logits (B,)."""
    if mcfg.arch == "mlp":
        dims = (mcfg.z_dim, 128, 256, 512, 1024)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if i else []) + [nn.LeakyReLU(0.2)]
        G = nn.Sequential(*layers, nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        D = nn.Sequential(nn.Flatten(), nn.Linear(784 * mcfg.pack, 512), nn.LeakyReLU(0.2),
                          nn.Linear(512, 256), nn.LeakyReLU(0.2), *_mbstd(mcfg),
                          nn.Linear(256 + bool(mcfg.mbstd_group), 1), nn.Flatten(0))
        return G, _sn(D) if mcfg.spectral_norm else D
    w = mcfg.width
    G = nn.Sequential(
        nn.Linear(mcfg.z_dim, 2 * w * 7 * 7, bias=False), nn.Unflatten(1, (2 * w, 7, 7)),
        nn.BatchNorm2d(2 * w), nn.ReLU(),                                          # (B,2w,7,7)
        *_up(mcfg.upsample, 2 * w, w, bias=False), nn.BatchNorm2d(w), nn.ReLU(),  # (B,w,14,14)
        *_up(mcfg.upsample, w, 1, bias=True), nn.Tanh())                          # (B,1,28,28)
    D = nn.Sequential(
        nn.Conv2d(mcfg.pack, w, 4, 2, 1), nn.LeakyReLU(0.2),                        # (B,w,14,14)
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
        nn.BatchNorm2d(2 * w) if mcfg.d_batchnorm and not mcfg.spectral_norm else nn.Identity(),
        nn.LeakyReLU(0.2), *_mbstd(mcfg),                                           # (B,2w[+1],7,7)
        nn.Flatten(), nn.Linear((2 * w + bool(mcfg.mbstd_group)) * 7 * 7, 1), nn.Flatten(0))
    return G, _sn(D) if mcfg.spectral_norm else D


def _up(kind: str, c_in: int, c_out: int, bias: bool) -> list[nn.Module]:
    """×2 upsampling: a stride-2 transposed convolution (Radford et al.), or nearest-neighbour
    resize then a 3×3 convolution, which avoids the transposed kernel's uneven overlap and
    its checkerboard artifacts (Odena et al. 2016, "Deconvolution and Checkerboard
    Artifacts") — they hurt thin strokes such as 1s most."""
    if kind == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]


class MinibatchStd(nn.Module):
    """Appends one feature: the standard deviation of D's features across a group of
    images, averaged over features and positions (Karras et al. 2018, "Progressive
    Growing of GANs", §3). A generator that makes too little variety gives batches with a
    smaller spread than real ones, which D can then see. (B, C, ...) → (B, C+1, ...); the
    group of image b is {b mod M + j·M} with M = B / group."""

    def __init__(self, group: int):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        g = self.group if B % self.group == 0 else 1
        y = x.float().reshape(g, B // g, *x.shape[1:])            # (G, M, C, ...)
        y = (y.var(0, unbiased=False) + 1e-8).sqrt()              # (M, C, ...)
        y = y.flatten(1).mean(1).repeat(g)                        # (B,)
        y = y.reshape(B, 1, *([1] * (x.dim() - 2))).expand(B, 1, *x.shape[2:]).to(x.dtype)
        return torch.cat([x, y], 1)


def _mbstd(mcfg: ModelConfig) -> list[nn.Module]:
    return [MinibatchStd(mcfg.mbstd_group)] if mcfg.mbstd_group else []


def _sn(D: nn.Module) -> nn.Module:
    for m in D.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(m)
    return D


def pack(x: torch.Tensor, k: int) -> torch.Tensor:
    """(B,1,H,W) → (B/k, k, H, W): k samples of the same kind stacked as channels, so D
    scores a set, not one image (PacGAN). A generator that drops modes produces sets that
    are less varied than real ones, which a packed D can see and a one-image D cannot."""
    return x if k == 1 else x.reshape(-1, k, *x.shape[2:])
