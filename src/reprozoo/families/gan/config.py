"""The `gan_mlp` and `gan_dcgan` sections of params.yaml (one Config, two entries). The
classifier used for FID is not a param: it is the family's `needs` input (models/cnn)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param
from reprozoo.errors import ConfigError

from .model import ModelConfig


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

    def __post_init__(self) -> None:
        if self.batch_size % self.pack:
            raise ConfigError(f"gan.pack = {self.pack} must divide batch_size = {self.batch_size}: "
                              f"D judges the batch in sets of `pack` images")
        if self.mbstd_group and (self.batch_size // self.pack) % self.mbstd_group:
            raise ConfigError(f"gan.mbstd_group = {self.mbstd_group} must divide the {self.batch_size // self.pack} "
                              f"D inputs per batch (batch_size {self.batch_size} / pack {self.pack})")

    def model_config(self) -> ModelConfig:
        return ModelConfig(arch=self.arch, z_dim=self.z_dim, width=self.width, upsample=self.upsample,
                           spectral_norm=self.spectral_norm, pack=self.pack, mbstd_group=self.mbstd_group,
                           d_batchnorm=self.d_batchnorm)
