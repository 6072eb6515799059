"""The `nb_golf` and `nb_spam` sections of params.yaml (one config class for both)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from reprozoo.config import param

from .model import Model, ModelConfig


@dataclasses.dataclass(frozen=True)
class Config:
    # nb_golf
    alpha: float = param(0.0, ge=0.0, doc="additive smoothing (golf: 0 = the article's plain frequencies)")
    # nb_spam (the improved model; the word-count baseline is always MultinomialNB, alpha 1)
    analyzer: Literal["word", "char", "char_wb"] = "char_wb"
    ngram_range: tuple[int, ...] = (2, 5)  # (min n, max n)
    tfidf: bool = True
    sublinear_tf: bool = True
    min_df: int = param(1, ge=1, doc="drop n-grams seen in fewer training messages")
    model: Model = "multinomial"
    cv_splits: int = param(5, ge=2)
    cv_repeats: int = param(5, ge=1)
    top_tokens: int = param(20, gt=0, doc="most spam-indicative features reported")

    def __post_init__(self) -> None:
        lo, hi = (self.ngram_range + (0, 0))[:2]
        if len(self.ngram_range) != 2 or not 1 <= lo <= hi:
            raise ValueError(f"ngram_range = {list(self.ngram_range)}: must be [min_n, max_n] with 1 <= min_n <= max_n")

    def model_config(self) -> ModelConfig:
        return ModelConfig(alpha=self.alpha, analyzer=self.analyzer, ngram_range=self.ngram_range,
                           tfidf=self.tfidf, sublinear_tf=self.sublinear_tf, min_df=self.min_df,
                           model=self.model)
