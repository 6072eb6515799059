"""GANs on MNIST: the seed article's MLP GAN and a DCGAN (seed article 004).

`arch: mlp` is the article's network (Goodfellow et al. 2014 objective with the
non-saturating G loss): G 100→128→256→512→1024→784 with BatchNorm, LeakyReLU(0.2) and
Tanh; D 784→512→256→1 with LeakyReLU(0.2). The article trains D `d_steps` = 20 times per
G step and observes mode collapse (mostly 7, 9, 1); the ratio is a param here.
`arch: dcgan` follows Radford et al. 2016 scaled to 28×28: G z→(2w,7,7)→up→(w,14,14)→
up→(1,28,28) with BatchNorm/ReLU/Tanh, where "up" is a stride-2 transposed convolution
(`upsample: transposed`, Radford et al.) or nearest ×2 + 3×3 convolution (`resize`, Odena
et al. 2016); D two strided convs with LeakyReLU (BatchNorm on the second unless
`d_batchnorm: false`) and a linear logit.

Quality is measured in the feature space of our own MNIST CNN classifier (family `cnn`,
`mnist_clf.features`: its 128-d penultimate layer): FID of 10,000 samples against the
test set, and class coverage = the classifier's label histogram over 10,000 samples (no
class below 5 %) with its entropy in bits (log2 10 = 3.32 is uniform).

Default profile (mnist-5k, CPU): the `gan_*` rows of reports/README.md. Class coverage
is the hard target on 4,500 training images and a few thousand G steps: the smallest
class share swings between epochs and with the rounding of the run (the same MLP recipe
reached 6.2 % with one CPU thread and 2.3 % with two), so `cpu_threads` pins the count.
`python benchmarks/gan_variants.py` trains the default recipes and standard remedies,
scoring FID and coverage every 10 epochs into reports/bench/gan_variants.json. With
transposed convolutions none of PacGAN packing (`pack`), DiffAugment (`augment`) or a
hinge loss with a spectrally normalized D (`loss`, `spectral_norm`) lifted the DCGAN's
1s (0.6–2.2 %) to 5 %; on the MLP GAN each one made coverage worse. Resize upsampling
lifted FID and the 1s, leaving the 4s at 2.2–3.0 % up to 60 epochs; a minibatch
standard-deviation feature in D (`mbstd_group`, Karras et al. 2018) moved them to 3.6 %.
What brought every class to about 5 % was the R1 penalty on a BatchNorm-free D
(`r1_gamma`, Mescheder et al. 2018): γ = 1 gives a smallest class of 5.0 / 5.3 / 4.4 /
5.1 % at 30/40/50/60 epochs while FID falls from 230 to 146 (the default stops at 40),
γ = 2 gives 6.0 % at 40 epochs. Averaging G's weights (`ema` 0.999) lags too far behind
in runs this short (FID 245 at 40 epochs).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.data import mnist
from reprozoo.errors import ConfigError
from reprozoo.metrics import check_finite
from reprozoo.runtime import cpu_threads, generator


@dataclasses.dataclass(frozen=True)
class Config:
    arch: Literal["mlp", "dcgan"] = "mlp"
    z_dim: int = param(100, gt=0)
    width: int = param(64, gt=0, doc="DCGAN base channels (G: 2w→w, D: w→2w)")
    epochs: int = param(20, gt=0)
    batch_size: int = param(64, gt=0)
    lr: float = param(2e-4, gt=0.0, doc="Adam step size (β1 = 0.5) for G and D")
    d_steps: int = param(1, gt=0, doc="D updates per G update (the article: 20)")
    real_label: float = param(1.0, gt=0.5, le=1.0, doc="D's target for real images (0.9 = one-sided "
                              "label smoothing, Salimans et al. 2016)")
    ema: float = param(0.0, ge=0.0, lt=1.0, doc="decay of an exponential moving average of G's "
                       "weights used for sampling (0 = sample from G itself)")
    upsample: Literal["transposed", "resize"] = "transposed"
    loss: Literal["bce", "hinge"] = "bce"
    spectral_norm: bool = param(False, doc="spectral normalization of D's layers (Miyato et al. 2018); "
                                "drops D's BatchNorm")
    augment: Literal["none", "translation", "translation+cutout"] = "none"
    pack: int = param(1, ge=1, le=8, doc="images D judges jointly (PacGAN, Lin et al. 2018; 1 = plain "
                      "GAN); must divide batch_size")
    mbstd_group: int = param(0, ge=0, doc="minibatch standard deviation feature in D over groups of this "
                             "many images (Karras et al. 2018; 0 = off); must divide batch_size / pack")
    r1_gamma: float = param(0.0, ge=0.0, doc="R1 gradient penalty γ/2·E‖∇D(real)‖² on D (Mescheder et al. "
                            "2018; 0 = off)")
    d_batchnorm: bool = param(True, doc="BatchNorm in the DCGAN D (off with spectral_norm)")
    cpu_threads: int = param(1, ge=0, doc="torch CPU threads for train and evaluate (0 = torch's "
                             "default): GAN training amplifies float rounding, so a fixed count makes "
                             "the run identical on any machine; ignored on CUDA")
    train_limit: int = param(0, ge=0, doc="use at most this many training images (0 = all)")
    n_eval: int = param(10000, gt=1, doc="samples for FID and class coverage")
    classifier: str = param("models/cnn/model.pt", doc="the `cnn` family checkpoint (FID features)")

    def __post_init__(self) -> None:
        if self.batch_size % self.pack:
            raise ConfigError(f"gan.pack = {self.pack} must divide batch_size = {self.batch_size}: "
                              f"D judges the batch in sets of `pack` images")
        if self.mbstd_group and (self.batch_size // self.pack) % self.mbstd_group:
            raise ConfigError(f"gan.mbstd_group = {self.mbstd_group} must divide the {self.batch_size // self.pack} "
                              f"D inputs per batch (batch_size {self.batch_size} / pack {self.pack})")


# ------------------------------------------------------------------ models
def build(cfg: Config) -> tuple[nn.Module, nn.Module]:
    """(G, D): G maps (B, z) → (B,1,28,28) in [-1,1]; D maps images → logits (B,)."""
    if cfg.arch == "mlp":
        dims = (cfg.z_dim, 128, 256, 512, 1024)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if i else []) + [nn.LeakyReLU(0.2)]
        G = nn.Sequential(*layers, nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        D = nn.Sequential(nn.Flatten(), nn.Linear(784 * cfg.pack, 512), nn.LeakyReLU(0.2),
                          nn.Linear(512, 256), nn.LeakyReLU(0.2), *_mbstd(cfg),
                          nn.Linear(256 + bool(cfg.mbstd_group), 1), nn.Flatten(0))
        return G, _sn(D) if cfg.spectral_norm else D
    w = cfg.width
    G = nn.Sequential(
        nn.Linear(cfg.z_dim, 2 * w * 7 * 7, bias=False), nn.Unflatten(1, (2 * w, 7, 7)),
        nn.BatchNorm2d(2 * w), nn.ReLU(),                                          # (B,2w,7,7)
        *_up(cfg.upsample, 2 * w, w, bias=False), nn.BatchNorm2d(w), nn.ReLU(),  # (B,w,14,14)
        *_up(cfg.upsample, w, 1, bias=True), nn.Tanh())                          # (B,1,28,28)
    D = nn.Sequential(
        nn.Conv2d(cfg.pack, w, 4, 2, 1), nn.LeakyReLU(0.2),                        # (B,w,14,14)
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
        nn.BatchNorm2d(2 * w) if cfg.d_batchnorm and not cfg.spectral_norm else nn.Identity(),
        nn.LeakyReLU(0.2), *_mbstd(cfg),                                           # (B,2w[+1],7,7)
        nn.Flatten(), nn.Linear((2 * w + bool(cfg.mbstd_group)) * 7 * 7, 1), nn.Flatten(0))
    return G, _sn(D) if cfg.spectral_norm else D


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


def _mbstd(cfg: Config) -> list[nn.Module]:
    return [MinibatchStd(cfg.mbstd_group)] if cfg.mbstd_group else []


def r1_penalty(D: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D(x), mean over the batch of ‖∇ₓD(x)‖²): the R1 term of Mescheder et al. 2018,
    "Which Training Methods for GANs do actually Converge?", on real images. Penalizing
    D's slope on the data keeps it from sharpening around the real points it has seen,
    the oscillation that makes G hop between modes; γ/2 times it is added to D's loss."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return out, grad.float().pow(2).flatten(1).sum(1).mean()


def _sn(D: nn.Module) -> nn.Module:
    for m in D.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(m)
    return D


def d_loss_fn(real: torch.Tensor, fake: torch.Tensor, cfg: Config) -> torch.Tensor:
    """D's loss on logits: BCE (the article, Goodfellow et al. 2014) or hinge (Lim & Ye 2017)."""
    if cfg.loss == "hinge":
        return F.relu(cfg.real_label - real).mean() + F.relu(1.0 + fake).mean()
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, cfg.real_label))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def g_loss_fn(fake: torch.Tensor, cfg: Config) -> torch.Tensor:
    """G's loss: the non-saturating −log D(G(z)) for BCE, −D(G(z)) for hinge."""
    if cfg.loss == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def subset(x: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """A seeded subset (the training files may be ordered by class)."""
    if not limit or limit >= len(x):
        return x
    return x[torch.randperm(len(x), generator=generator(seed))[:limit].sort().values.to(x.device)]


def pack(x: torch.Tensor, k: int) -> torch.Tensor:
    """(B,1,H,W) → (B/k, k, H, W): k samples of the same kind stacked as channels, so D
    scores a set, not one image (PacGAN). A generator that drops modes produces sets that
    are less varied than real ones, which a packed D can see and a one-image D cannot."""
    return x if k == 1 else x.reshape(-1, k, *x.shape[2:])


# ------------------------------------------------------------------ augmentation
def diff_augment(x: torch.Tensor, policy: str, g: torch.Generator, background: float = -1.0,
                 shift: float = 0.125, cut: float = 0.5) -> torch.Tensor:
    """Differentiable augmentation of D's input, real and fake alike (Zhao et al. 2020,
    "Differentiable Augmentation for Data-Efficient GAN Training", policy names as theirs).

    With 4,500 training images D memorizes the real set and G's gradient stops carrying
    information about the missing classes; augmenting both D inputs the same way (and
    differentiably, so G is trained through it) keeps D from overfitting without changing
    the distribution G must match. `translation` shifts each image by up to `shift`·28
    pixels (filled with the background); `cutout` blanks one random `cut`·28 square.
    x: (B,1,H,W) in [-1,1]."""
    if policy == "none":
        return x
    B, _, H, W = x.shape
    dev = x.device
    if "translation" in policy:
        sh, sw = int(H * shift + 0.5), int(W * shift + 0.5)
        tx = torch.randint(-sh, sh + 1, (B, 1, 1), generator=g, device=g.device).to(dev)
        ty = torch.randint(-sw, sw + 1, (B, 1, 1), generator=g, device=g.device).to(dev)
        gb, gx, gy = torch.meshgrid(torch.arange(B, device=dev), torch.arange(H, device=dev),
                                    torch.arange(W, device=dev), indexing="ij")
        gx = (gx + tx + 1).clamp(0, H + 1)
        gy = (gy + ty + 1).clamp(0, W + 1)
        padded = F.pad(x, (1, 1, 1, 1), value=background)       # (B,1,H+2,W+2)
        x = padded[gb, 0, gx, gy].unsqueeze(1)                   # (B,1,H,W)
    if "cutout" in policy:
        ch, cw = int(H * cut + 0.5), int(W * cut + 0.5)
        # hole centre anywhere in the image (the square may stick out over the border)
        top = torch.randint(0, H, (B, 1, 1), generator=g, device=g.device).to(dev) - ch // 2
        left = torch.randint(0, W, (B, 1, 1), generator=g, device=g.device).to(dev) - cw // 2
        rows = torch.arange(H, device=dev)[None, :, None]
        cols = torch.arange(W, device=dev)[None, None, :]
        hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)  # (B,H,W)
        x = torch.where(hole.unsqueeze(1), torch.full_like(x, background), x)
    return x


# ------------------------------------------------------------------ training
def fit(G: nn.Module, D: nn.Module, cfg: Config, x: torch.Tensor, ctx: Context,
        on_epoch: Callable[[int, nn.Module], None] | None = None) -> dict[str, Any]:
    """Alternating updates: `d_steps` D steps (each on a fresh real batch) per G step.

    One epoch = one pass of real images through D. Returns final losses and the fixed-z
    sample snapshots (one row of 10 per epoch) for the per-epoch figure. `on_epoch(epoch,
    G_sample)` is called after every epoch with the generator that is sampled (the EMA
    copy when `ema` is set), e.g. to score it."""
    g = generator(ctx.seed, ctx.device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    amp = ctx.runtime.is_cuda  # bf16 autocast on CUDA only
    z_fixed = torch.randn((10, cfg.z_dim), generator=g, device=g.device)
    G_ema = copy.deepcopy(G).eval() if cfg.ema else G  # the generator that is sampled
    snaps = []
    n_batches = max(1, len(x) // cfg.batch_size)
    pb = progress.bar(cfg.epochs, desc=f"train {ctx.name}", unit="epoch")
    for epoch in range(1, cfg.epochs + 1):
        G.train(), D.train()
        order = torch.randperm(len(x), generator=g, device=g.device)
        sums = torch.zeros(5, device=x.device)  # d_loss, g_loss, D(real), D(fake), R1
        n_d = n_g = 0
        for bi in range(n_batches):
            real = x[order[bi * cfg.batch_size:(bi + 1) * cfg.batch_size]]
            z = torch.randn((len(real), cfg.z_dim), generator=g, device=g.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                real_in = pack(diff_augment(real, cfg.augment, g), cfg.pack)
                if cfg.r1_gamma:
                    lr_, r1 = r1_penalty(D, real_in)
                else:
                    lr_ = D(real_in)
                lr_ = lr_.float()
                lf = D(pack(diff_augment(G(z).detach(), cfg.augment, g), cfg.pack)).float()
            d_loss = d_loss_fn(lr_, lf, cfg)
            if cfg.r1_gamma:
                d_loss = d_loss + cfg.r1_gamma / 2 * r1
                sums[4] += r1.detach()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            sums[0] += d_loss.detach()
            sums[2] += torch.sigmoid(lr_.detach()).mean()
            sums[3] += torch.sigmoid(lf.detach()).mean()
            n_d += 1
            if (bi + 1) % cfg.d_steps:
                continue
            z = torch.randn((cfg.batch_size, cfg.z_dim), generator=g, device=g.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                lg = D(pack(diff_augment(G(z), cfg.augment, g), cfg.pack)).float()
            g_loss = g_loss_fn(lg, cfg)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            if cfg.ema:
                ema_update(G_ema, G, cfg.ema)
            sums[1] += g_loss.detach()
            n_g += 1
        s = sums.tolist()
        d_mean = check_finite(s[0] / n_d, epoch, "D loss")
        g_mean = check_finite(s[1] / max(n_g, 1), epoch, "G loss")
        extra = {"r1": s[4] / n_d} if cfg.r1_gamma else {}  # mean ‖∇D(real)‖² (d_loss has γ/2 of it)
        ctx.log_step(epoch, d_loss=d_mean, g_loss=g_mean, d_real=s[2] / n_d, d_fake=s[3] / n_d,
                     g_steps=n_g, **extra)
        G_ema.eval()
        with torch.no_grad():
            snaps.append(G_ema(z_fixed)[:, 0].cpu())
        if on_epoch is not None:
            on_epoch(epoch, G_ema)
        pb.set_postfix(d=d_mean, g=g_mean)
        pb.update(1)
    pb.close()
    return {"d_loss": d_mean, "g_loss": g_mean, "snapshots": snaps, "G_sample": G_ema}


@torch.no_grad()
def ema_update(avg: nn.Module, model: nn.Module, decay: float) -> None:
    """avg ← decay·avg + (1−decay)·model for parameters; BatchNorm running statistics are
    copied (they already are running averages). Yazıcı et al. 2019, "The Unusual
    Effectiveness of Averaging in GAN Training": the averaged generator oscillates less
    between modes than the last iterate."""
    for a, p in zip(avg.parameters(), model.parameters()):
        a.lerp_(p, 1.0 - decay)
    for a, b in zip(avg.buffers(), model.buffers()):
        a.copy_(b)


def train(cfg: Config, ctx: Context) -> dict[str, float]:
    with cpu_threads(0 if ctx.runtime.is_cuda else cfg.cpu_threads):
        return _train(cfg, ctx)


def _train(cfg: Config, ctx: Context) -> dict[str, float]:
    x, _ = mnist.to_tensors(ctx.data_dir, "train", ctx.device)
    x = subset(x, cfg.train_limit, ctx.seed) * 2 - 1  # [-1, 1] to match Tanh
    torch.manual_seed(ctx.seed)
    G, D = build(cfg)
    G, D = G.to(ctx.device), D.to(ctx.device)
    t0 = time.perf_counter()
    out = fit(G, D, cfg, x, ctx)
    secs = time.perf_counter() - t0
    ctx.tracker.log_metrics({"train_seconds": secs, "train_images_per_s": cfg.epochs * len(x) / secs})
    snaps = out.pop("snapshots")
    G_sample = out.pop("G_sample")
    rows = np.linspace(0, len(snaps) - 1, min(len(snaps), 10)).round().astype(int)
    plots.image_grid(torch.cat([snaps[r] for r in rows]).numpy(), ctx.report_dir / "samples_by_epoch.png",
                     ncols=10, titles=[f"ep {r + 1}" if c == 0 else "" for r in rows for c in range(10)],
                     title=f"{ctx.name}: fixed z, one row per epoch")
    groups = {"loss": ["d_loss", "g_loss"], "D output": ["d_real", "d_fake"]}
    if cfg.r1_gamma:
        groups[r"R1 term $\|\nabla_x D(x)\|^2$, real $x$"] = ["r1"]
    plots.learning_curves(ctx.history, ctx.report_dir / "loss_curves.png", groups=groups,
                          title=f"{ctx.name} ({cfg.arch}, {cfg.d_steps} D step(s) per G step"
                                + (f", R1 γ = {cfg.r1_gamma:g})" if cfg.r1_gamma else ")"))
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"G": G_sample.state_dict(), "D": D.state_dict()})
    return out


# ------------------------------------------------------------------ metrics
def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """‖μ1−μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) (Heusel et al. 2017), float64.

    The trace term uses the eigenvalues of √Σ1 Σ2 √Σ1 (symmetric PSD), which equals
    tr((Σ1Σ2)^½) without scipy.linalg.sqrtm's complex round-off."""
    w1, v1 = np.linalg.eigh(s1)
    r1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    lam = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_sqrt = np.sqrt(np.clip(lam, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def feature_stats(f: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    a = f.double().cpu().numpy()
    return a.mean(0), np.cov(a, rowvar=False)


def fid(f1: torch.Tensor, f2: torch.Tensor) -> float:
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))


def coverage(pred: torch.Tensor, n_classes: int = 10) -> dict[str, Any]:
    """Label histogram (fractions), its entropy in bits and the smallest class share."""
    frac = torch.bincount(pred.cpu(), minlength=n_classes).double() / len(pred)
    ent = float(-(frac[frac > 0] * frac[frac > 0].log2()).sum())
    return {"class_fraction": {str(i): float(f) for i, f in enumerate(frac)}, "entropy_bits": ent,
            "min_class_fraction": float(frac.min()), "all_classes_over_5pct": bool(frac.min() >= 0.05)}


@torch.no_grad()
def embed(clf: nn.Module, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D), predicted labels (N,)) of images in [0,1] (B,1,28,28)."""
    from reprozoo.families.mnist_clf import features

    fs, ps = [], []
    for i in range(0, len(x), batch):
        f = features(clf, x[i:i + batch])
        fs.append(f)
        ps.append(clf[-1](f).argmax(1))
    return torch.cat(fs), torch.cat(ps)


@torch.no_grad()
def score(G: nn.Module, clf: nn.Module, f_test: torch.Tensor, cfg: Config,
          seed: int) -> tuple[torch.Tensor, torch.Tensor, float, dict[str, Any]]:
    """Sample `cfg.n_eval` images from G in eval mode (z drawn from `seed` + 5, 1,000 at a time) and
    score them: (samples in [0,1] (N,1,28,28), classifier labels (N,), FID against the
    test features `f_test`, class coverage). The evaluate stage and
    benchmarks/gan_variants.py both score this way, so their numbers agree."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    g = generator(seed + 5, device)
    n = cfg.n_eval
    samples = torch.cat([(G(torch.randn((min(1000, n - i), cfg.z_dim), generator=g, device=g.device)) + 1) / 2
                         for i in range(0, n, 1000)])  # (N,1,28,28) in [0,1]
    f_gen, pred = embed(clf, samples)
    G.train(was_training)
    return samples, pred, fid(f_gen, f_test), coverage(pred)


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    with cpu_threads(0 if ctx.runtime.is_cuda else cfg.cpu_threads):
        return _evaluate(cfg, ctx)


@torch.no_grad()
def _evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.families.mnist_clf import load_trained

    blob = checkpoint.load(ctx.model_path, family=ctx.name, map_location=ctx.device)
    G, _ = build(cfg)
    G = G.to(ctx.device)
    checkpoint.load_state(G, blob["state"].get("G", {}), str(ctx.model_path))
    clf = load_trained(cfg.classifier, "cnn", ctx.device)
    x_test, y_test = mnist.to_tensors(ctx.data_dir, "test", ctx.device)
    x_test, y_test = x_test[:cfg.n_eval], y_test[:cfg.n_eval]  # the official order is not by class
    f_test, pred_test = embed(clf, x_test)
    samples, pred, fid_gen, cov = score(G, clf, f_test, cfg, ctx.seed)
    half = len(f_test) // 2
    out: dict[str, Any] = {
        "fid_cnn": fid_gen,
        "n_test": int(len(f_test)),
        # reference floor: FID between the two halves of the test set (finite-sample noise)
        "fid_cnn_test_halves": fid(f_test[:half], f_test[half:]),
        "classifier_test_accuracy": float((pred_test == y_test).double().mean()),
        "n_samples": int(len(samples)),
        "coverage": cov,
    }
    show = samples[:100, 0].cpu().numpy()
    plots.image_grid(show, ctx.report_dir / "samples.png", ncols=10,
                     titles=[str(int(p)) for p in pred[:100]],
                     title=f"{ctx.name}: samples (classifier label above), FID {out['fid_cnn']:.2f}")
    frac = [out["coverage"]["class_fraction"][str(i)] for i in range(10)]
    fig, ax = plots.figure(figsize=(5, 3.2))
    ax.bar(range(10), frac)
    ax.axhline(0.05, color="r", ls="--", lw=1, label="5 %")
    ax.axhline(0.1, color="gray", ls=":", lw=1, label="uniform")
    ax.set_xticks(range(10))
    ax.set_xlabel("classifier label")
    ax.set_ylabel("share of samples")
    ax.set_title(f"class coverage, entropy {out['coverage']['entropy_bits']:.3f} bits")
    ax.legend()
    plots.savefig(fig, ctx.report_dir / "class_coverage.png")
    return out
