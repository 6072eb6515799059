"""The word2vec_ja / word2vec_en params.yaml sections. The pair list is not a key here:
it is the family's `needs` input (data/static/w2v_pairs_<lang>.tsv), given as `ctx.needs`."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param


@dataclasses.dataclass(frozen=True)
class Config:
    lang: Literal["ja", "en"] = "en"
    dim: int = param(100, gt=0, doc="vector size")
    window: int = param(5, gt=0, doc="max context distance; drawn from 1..window per word")
    negative: int = param(5, gt=0, doc="noise words per positive pair")
    min_count: int = param(3, gt=0, doc="drop words rarer than this in the training split")
    sample: float = param(1e-3, ge=0.0, doc="subsampling threshold t; 0 = keep every word")
    epochs: int = param(5, gt=0)
    batch_size: int = param(1024, gt=0, doc="positive pairs per SGD step")
    lr: float = param(0.025, gt=0.0, doc="initial SGD step, linear decay to lr*1e-4")
    train_limit: int = param(0, ge=0, doc="first n training sentences; 0 = all")
    queries: tuple[str, ...] = ("dog", "cat", "school", "eat")
    neighbours: int = param(8, gt=0)
    plot_words: int = param(80, gt=1)
