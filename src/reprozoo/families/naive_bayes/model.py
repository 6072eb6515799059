"""Naive Bayes, the pure models: the article's categorical NB (golf), a hand-written
multinomial NB (= sklearn's MultinomialNB), Bayes' rule as in the article's examples, and
the spam pipeline (feature extractor + NB) rebuilt from its saved vocabulary and parameters.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import torch

Model = Literal["multinomial", "complement"]


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    alpha: float                                  # additive smoothing
    analyzer: Literal["word", "char", "char_wb"]  # spam features: words or character n-grams
    ngram_range: tuple[int, ...]                  # (min n, max n)
    tfidf: bool                                   # tf-idf weights instead of counts
    sublinear_tf: bool                            # tf-idf with 1 + log(tf)
    min_df: int                                   # drop n-grams seen in fewer training messages
    model: Model                                  # MultinomialNB or ComplementNB


# ================================================================== categorical NB (golf)
class CategoricalNaiveBayes:
    """Naive Bayes over categorical features, counting relative frequencies as the article.

    P(c | x) ∝ P(c) Π_j P(x_j | c), P(c) = n_c / n, P(v | c) = (n_cv + α) / (n_c + α K_j)
    (K_j = the number of values of feature j; α = 0 gives the article's plain fractions).
    """

    def __init__(self, alpha: float = 0.0):
        self.alpha = alpha

    def fit(self, X: list[list[str]], y: list[str]) -> "CategoricalNaiveBayes":
        self.classes_ = sorted(set(y))
        self.categories_ = [sorted({row[j] for row in X}) for j in range(len(X[0]))]
        # counts_[j][c, v]: how often feature j had value v on days of class c
        self.counts_ = [np.zeros((len(self.classes_), len(cats)), dtype=np.int64) for cats in self.categories_]
        self.class_count_ = np.zeros(len(self.classes_), dtype=np.int64)
        for row, label in zip(X, y):
            c = self.classes_.index(label)
            self.class_count_[c] += 1
            for j, v in enumerate(row):
                self.counts_[j][c, self.categories_[j].index(v)] += 1
        return self

    def prior(self, c: str) -> float:
        return float(self.class_count_[self.classes_.index(c)] / self.class_count_.sum())

    def likelihood(self, j: int, v: str, c: str) -> float:
        ci, k = self.classes_.index(c), len(self.categories_[j])
        return float((self.counts_[j][ci, self.categories_[j].index(v)] + self.alpha)
                     / (self.class_count_[ci] + self.alpha * k))

    def fraction(self, j: int, v: str, c: str) -> Fraction:
        """The likelihood as an exact fraction (α = 0), e.g. P(晴れ|YES) = 2/9."""
        ci = self.classes_.index(c)
        return Fraction(int(self.counts_[j][ci, self.categories_[j].index(v)]), int(self.class_count_[ci]))

    def joint(self, row: list[str]) -> np.ndarray:
        """P(c) Π_j P(x_j|c) for each class (unnormalized), shape (C,)."""
        return np.array([self.prior(c) * np.prod([self.likelihood(j, v, c) for j, v in enumerate(row)])
                         for c in self.classes_])

    def predict_proba(self, X: list[list[str]]) -> np.ndarray:
        J = np.stack([self.joint(row) for row in X])  # (N, C)
        return J / J.sum(1, keepdims=True)

    def predict(self, X: list[list[str]]) -> list[str]:
        return [self.classes_[k] for k in self.predict_proba(X).argmax(1)]


# ================================================================== multinomial NB (spam)
class MultinomialNaiveBayes:
    """Hand-written multinomial NB, the same estimator as `sklearn.naive_bayes.MultinomialNB`.

    log P(c) = log(n_c / n); log θ_cw = log((N_cw + α) / (Σ_w N_cw + α V)), with N_cw the
    summed feature values (counts or tf-idf weights) of w in class c; the joint
    log-likelihood of x is log P(c) + Σ_w x_w log θ_cw.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X: Any, y: np.ndarray) -> "MultinomialNaiveBayes":
        self.classes_ = np.unique(y)
        Y = (np.asarray(y)[:, None] == self.classes_[None, :]).astype(np.float64)  # (N, C)
        fc = np.asarray((X.T @ Y).T, dtype=np.float64) + self.alpha              # (C, V)
        self.feature_log_prob_ = np.log(fc) - np.log(fc.sum(1, keepdims=True))
        self.class_log_prior_ = np.log(Y.sum(0)) - np.log(len(y))
        return self

    def joint_log_likelihood(self, X: Any) -> np.ndarray:
        return np.asarray(X @ self.feature_log_prob_.T) + self.class_log_prior_  # (N, C)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        jll = self.joint_log_likelihood(X)
        m = jll.max(1, keepdims=True)
        return jll - (m + np.log(np.exp(jll - m).sum(1, keepdims=True)))

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.joint_log_likelihood(X).argmax(1)]


def bayes_posterior(prior: float, p_evidence_given_h: float, p_evidence_given_not_h: float) -> float:
    """P(H|E) by Bayes' rule with a two-way partition: the article's worked examples."""
    num = p_evidence_given_h * prior
    return num / (num + p_evidence_given_not_h * (1 - prior))


def bayes_rule(prior: float, likelihood: float, evidence: float) -> float:
    """P(H|E) = P(E|H) P(H) / P(E), e.g. P(lung cancer | smoker)."""
    return likelihood * prior / evidence


# ================================================================== the spam pipeline
def vectorizer(cfg: ModelConfig | None, vocabulary: Any = None) -> Any:
    """The feature extractor: `None` = the baseline (word counts, sklearn's defaults)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if cfg is None:
        return CountVectorizer(vocabulary=vocabulary)
    kw = dict(analyzer=cfg.analyzer, ngram_range=tuple(cfg.ngram_range), min_df=cfg.min_df,
              vocabulary=vocabulary, dtype=np.float64)
    if cfg.tfidf:
        return TfidfVectorizer(sublinear_tf=cfg.sublinear_tf, **kw)
    return CountVectorizer(**kw)


def classifier(cfg: ModelConfig | None) -> Any:
    """The NB estimator: `None` = the baseline (MultinomialNB, α = 1)."""
    from sklearn.naive_bayes import ComplementNB, MultinomialNB

    if cfg is None:
        return MultinomialNB(alpha=1.0)
    return (ComplementNB if cfg.model == "complement" else MultinomialNB)(alpha=cfg.alpha)


def spam_state(vec: Any, clf: Any) -> dict[str, Any]:
    """What a fitted (vectorizer, NB) pair saves: the vocabulary in feature order, the NB
    log-parameters and, for tf-idf, the idf weights (`SpamModel` rebuilds from it)."""
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)  # feature order
    state = {"vocabulary": vocab, "feature_log_prob": torch.from_numpy(clf.feature_log_prob_),
             "class_log_prior": torch.from_numpy(clf.class_log_prior_),
             "complement": clf.__class__.__name__ == "ComplementNB"}
    if hasattr(vec, "idf_"):
        state["idf"] = torch.from_numpy(vec.idf_)
    return state


class SpamModel:
    """A saved spam model rebuilt from its checkpoint state (vocabulary + NB parameters)."""

    def __init__(self, cfg: ModelConfig | None, state: dict[str, Any]):
        vocab = {w: k for k, w in enumerate(state["vocabulary"])}
        self.vec = vectorizer(cfg, vocabulary=vocab)
        if "idf" in state:
            self.vec.idf_ = state["idf"].numpy()
        self.flp = state["feature_log_prob"].numpy()
        self.prior = state["class_log_prior"].numpy()
        self.complement = bool(state["complement"])

    def spam_probability(self, texts: list[str]) -> np.ndarray:
        X = self.vec.transform(texts)
        jll = np.asarray(X @ self.flp.T)
        if not self.complement:  # ComplementNB ignores the prior in its decision
            jll = jll + self.prior
        jll = jll - jll.max(1, keepdims=True)
        p = np.exp(jll)
        return p[:, 1] / p.sum(1)
