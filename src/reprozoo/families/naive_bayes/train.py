"""Train `nb_golf` (the golf table's counts) and `nb_spam` (improved and baseline spam
pipelines on the training messages) and save them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint
from reprozoo.context import Context
from reprozoo.errors import DataError

from .config import Config
from .model import CategoricalNaiveBayes, ModelConfig, classifier, spam_state, vectorizer


# ================================================================== golf
def read_golf(path: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """(feature names, rows of values, labels) from the golf CSV (last column = label)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: golf table not found (it is committed under data/static/)")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    return header[1:-1], [r[1:-1] for r in body], [r[-1] for r in body]


def _train_golf(cfg: Config, ctx: Context) -> dict[str, Any]:
    names, X, y = read_golf(ctx.data_dir)
    nb = CategoricalNaiveBayes(cfg.model_config().alpha).fit(X, y)
    state = {"classes": nb.classes_, "categories": nb.categories_, "features": names,
             "class_count": torch.from_numpy(nb.class_count_),
             **{f"counts_{j}": torch.from_numpy(c) for j, c in enumerate(nb.counts_)}}
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=state)
    return {"n_days": len(y), **{f"prior_{c}": nb.prior(c) for c in nb.classes_}}


# ================================================================== spam
def fit_pipeline(cfg: ModelConfig | None, texts: list[str], y: np.ndarray) -> tuple[Any, Any]:
    """Fit the feature extractor and NB on `texts`; `None` = the word-count baseline."""
    vec = vectorizer(cfg)
    X = vec.fit_transform(texts)
    return vec, classifier(cfg).fit(X, y)


def _train_spam(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.data import sms_spam

    texts, y, test = sms_spam.load(ctx.data_dir)
    train_texts = [t for t, m in zip(texts, test) if not m]
    vec, clf = fit_pipeline(cfg.model_config(), train_texts, y[~test])
    base_vec, base_clf = fit_pipeline(None, train_texts, y[~test])
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg,
                    state={"improved": spam_state(vec, clf), "baseline": spam_state(base_vec, base_clf)})
    return {"n_train": int((~test).sum()), "n_features": len(vec.vocabulary_),
            "n_features_baseline": len(base_vec.vocabulary_)}


def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    return _train_golf(cfg, ctx) if ctx.name == "nb_golf" else _train_spam(cfg, ctx)
