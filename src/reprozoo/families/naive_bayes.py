"""Naive Bayes (seed article 004): the article's golf table and SMS spam filtering.

`nb_golf`: the article's 14-day golf table (data/static/golf.csv: 天気, 気温, 湿度, 風 →
ゴルフ YES/NO) with a hand-written categorical naive Bayes whose priors (9/14, 5/14) and
likelihoods (e.g. P(晴れ|YES) = 2/9) are the article's relative frequencies; checked
against `sklearn.naive_bayes.CategoricalNB` in the evaluate stage and in the tests.

`nb_spam`: the UCI SMS Spam Collection. Baseline: `MultinomialNB` on word counts (as a
hand-written multinomial NB equal to sklearn's to 1e-9 in log-probabilities). Improved:
still naive Bayes, on better features (character n-grams within word boundaries,
tf-idf with sublinear tf) and tuned smoothing. Both are scored under 5×5-fold stratified
CV on all messages (the issue's protocol) and on the held-out stratified test split.

References: the seed article 004; Almeida, Gómez Hidalgo & Yamakami, "Contributions to the
Study of SMS Spam Filtering" (DocEng 2011), the data set's paper; Rennie et al. 2003
(complement NB, tf-idf for NB). Default-profile numbers: see the helper report
(`python pipelines/train.py nb_spam && python pipelines/evaluate.py nb_spam`).
"""

from __future__ import annotations

import csv
import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.errors import DataError

Model = Literal["multinomial", "complement"]


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


def read_golf(path: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """(feature names, rows of values, labels) from the golf CSV (last column = label)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: golf table not found (it is committed under data/static/)")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    return header[1:-1], [r[1:-1] for r in body], [r[-1] for r in body]


def sklearn_categorical(X: list[list[str]], y: list[str], alpha: float) -> Any:
    """sklearn's CategoricalNB on the same table (ordinal-encoded), for the cross-check."""
    from sklearn.naive_bayes import CategoricalNB
    from sklearn.preprocessing import OrdinalEncoder

    enc = OrdinalEncoder()
    Xe = enc.fit_transform(np.array(X, dtype=object))
    # sklearn clips α=0 to 1e-10 unless forced; force it so α=0 means the plain fractions
    with np.errstate(divide="ignore"):  # log(0) for values never seen with a class
        return enc, CategoricalNB(alpha=alpha, force_alpha=True).fit(Xe, np.array(y))


def _train_golf(cfg: Config, ctx: Context) -> dict[str, Any]:
    names, X, y = read_golf(ctx.data_dir)
    nb = CategoricalNaiveBayes(cfg.alpha).fit(X, y)
    state = {"classes": nb.classes_, "categories": nb.categories_, "features": names,
             "class_count": torch.from_numpy(nb.class_count_),
             **{f"counts_{j}": torch.from_numpy(c) for j, c in enumerate(nb.counts_)}}
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg), state=state)
    return {"n_days": len(y), **{f"prior_{c}": nb.prior(c) for c in nb.classes_}}


def _load_golf(cfg: Config, ctx: Context) -> tuple[CategoricalNaiveBayes, list[str]]:
    s = checkpoint.load(ctx.model_path, family=ctx.name)["state"]
    nb = CategoricalNaiveBayes(cfg.alpha)
    nb.classes_, nb.categories_ = list(s["classes"]), [list(c) for c in s["categories"]]
    nb.class_count_ = s["class_count"].numpy()
    nb.counts_ = [s[f"counts_{j}"].numpy() for j in range(len(nb.categories_))]
    return nb, list(s["features"])


def _count_ratio(nb: CategoricalNaiveBayes, j: int, v: str, c: str) -> str:
    ci = nb.classes_.index(c)
    return f"{int(nb.counts_[j][ci, nb.categories_[j].index(v)])}/{int(nb.class_count_[ci])}"


# The article's query day: 晴れ, 涼しい, 高い, あり (sunny, cool, high humidity, windy).
GOLF_QUERY = ["晴れ", "涼しい", "高い", "あり"]


def _evaluate_golf(cfg: Config, ctx: Context) -> dict[str, Any]:
    nb, names = _load_golf(cfg, ctx)
    _, X, y = read_golf(ctx.data_dir)
    pred = nb.predict(X)
    enc, sk = sklearn_categorical(X, y, cfg.alpha)
    sk_proba = sk.predict_proba(enc.transform(np.array(X + [GOLF_QUERY], dtype=object)))
    ours = nb.predict_proba(X + [GOLF_QUERY])
    joint_q = nb.joint(GOLF_QUERY)
    # unreduced, as the article writes them (3/9, not 1/3)
    likelihoods = {f"P({v}|{c})": _count_ratio(nb, j, v, c) for j in range(len(names))
                   for v in nb.categories_[j] for c in nb.classes_}
    # figure: the query's posterior, with ASCII labels (no CJK font is assumed)
    fig, ax = plots.figure(figsize=(4.5, 3))
    post = ours[-1]
    ax.bar(nb.classes_, post, color=["tab:red", "tab:green"][: len(post)])
    ax.set_ylabel("posterior")
    ax.set_title("golf: sunny, cool, high humidity, windy")
    for k, p in enumerate(post):
        ax.text(k, p, f"{p:.3f}", ha="center", va="bottom")
    plots.savefig(fig, ctx.report_dir / "query_posterior.png")
    return {"training_accuracy": float(np.mean([p == t for p, t in zip(pred, y)])),
            "priors": {c: str(Fraction(int(n), int(nb.class_count_.sum()))) for c, n in zip(nb.classes_, nb.class_count_)},
            "likelihoods": likelihoods,
            "query": {"day": " ".join(GOLF_QUERY), "prediction": nb.predict([GOLF_QUERY])[0],
                      **{f"joint_{c}": float(v) for c, v in zip(nb.classes_, joint_q)},
                      **{f"posterior_{c}": float(p) for c, p in zip(nb.classes_, post)}},
            "predictions": "".join("Y" if p == "YES" else "N" for p in pred),
            "sklearn_max_abs_diff": float(np.abs(ours - sk_proba).max()),
            "sklearn_same_predictions": bool(list(sk.predict(enc.transform(np.array(X, dtype=object)))) == pred)}


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


def vectorizer(cfg: Config | None, vocabulary: Any = None) -> Any:
    """The feature extractor: `None` = the baseline (word counts, sklearn's defaults)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if cfg is None:
        return CountVectorizer(vocabulary=vocabulary)
    kw = dict(analyzer=cfg.analyzer, ngram_range=tuple(cfg.ngram_range), min_df=cfg.min_df,
              vocabulary=vocabulary, dtype=np.float64)
    if cfg.tfidf:
        return TfidfVectorizer(sublinear_tf=cfg.sublinear_tf, **kw)
    return CountVectorizer(**kw)


def classifier(cfg: Config | None) -> Any:
    from sklearn.naive_bayes import ComplementNB, MultinomialNB

    if cfg is None:
        return MultinomialNB(alpha=1.0)
    return (ComplementNB if cfg.model == "complement" else MultinomialNB)(alpha=cfg.alpha)


def spam_scores(y: np.ndarray, pred: np.ndarray, p_spam: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", pos_label=1, zero_division=0)
    return {"accuracy": float(accuracy_score(y, pred)), "spam_precision": float(p),
            "spam_recall": float(r), "spam_f1": float(f), "roc_auc": float(roc_auc_score(y, p_spam))}


def fit_pipeline(cfg: Config | None, texts: list[str], y: np.ndarray) -> tuple[Any, Any]:
    vec = vectorizer(cfg)
    X = vec.fit_transform(texts)
    return vec, classifier(cfg).fit(X, y)


def cross_validate(cfg: Config | None, texts: list[str], y: np.ndarray, splits: int, repeats: int,
                   seed: int) -> dict[str, float]:
    """Mean (and std of accuracy) over repeated stratified k-fold CV."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    cv = RepeatedStratifiedKFold(n_splits=splits, n_repeats=repeats, random_state=seed)
    arr = np.array(texts, dtype=object)
    rows = []
    for tr, te in cv.split(arr, y):
        vec, clf = fit_pipeline(cfg, list(arr[tr]), y[tr])
        X = vec.transform(list(arr[te]))
        rows.append(spam_scores(y[te], clf.predict(X), clf.predict_proba(X)[:, 1]))
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    out["accuracy_std"] = float(np.std([r["accuracy"] for r in rows]))
    out["n_fits"] = len(rows)
    return out


def _spam_state(vec: Any, clf: Any) -> dict[str, Any]:
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)  # feature order
    state = {"vocabulary": vocab, "feature_log_prob": torch.from_numpy(clf.feature_log_prob_),
             "class_log_prior": torch.from_numpy(clf.class_log_prior_),
             "complement": clf.__class__.__name__ == "ComplementNB"}
    if hasattr(vec, "idf_"):
        state["idf"] = torch.from_numpy(vec.idf_)
    return state


class SpamModel:
    """A saved spam model rebuilt from its checkpoint state (vocabulary + NB parameters)."""

    def __init__(self, cfg: Config | None, state: dict[str, Any]):
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


def _train_spam(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.data import sms_spam

    texts, y, test = sms_spam.load(ctx.data_dir)
    train_texts = [t for t, m in zip(texts, test) if not m]
    vec, clf = fit_pipeline(cfg, train_texts, y[~test])
    base_vec, base_clf = fit_pipeline(None, train_texts, y[~test])
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"improved": _spam_state(vec, clf), "baseline": _spam_state(base_vec, base_clf)})
    return {"n_train": int((~test).sum()), "n_features": len(vec.vocabulary_),
            "n_features_baseline": len(base_vec.vocabulary_)}


def _evaluate_spam(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.data import sms_spam

    state = checkpoint.load(ctx.model_path, family=ctx.name)["state"]
    texts, y, test = sms_spam.load(ctx.data_dir)
    te_texts, yt = [t for t, m in zip(texts, test) if m], y[test]
    out: dict[str, Any] = {"n_test": int(test.sum())}
    for name, c in (("improved", cfg), ("baseline", None)):
        model = SpamModel(c, state[name])
        p = model.spam_probability(te_texts)
        pred = (p > 0.5).astype(np.uint8)
        out[f"test_{name}"] = spam_scores(yt, pred, p)
        if name == "improved":
            cm = np.zeros((2, 2), dtype=np.int64)
            np.add.at(cm, (yt, pred), 1)
            out["confusion_matrix"] = {"ham_as_ham": int(cm[0, 0]), "ham_as_spam": int(cm[0, 1]),
                                       "spam_as_ham": int(cm[1, 0]), "spam_as_spam": int(cm[1, 1])}
            plots.confusion_matrix(cm, ctx.report_dir / "confusion_matrix.png", labels=["ham", "spam"],
                                   title=f"{ctx.name}: test accuracy {out['test_improved']['accuracy']:.2%}")
        if name == "baseline":
            # most spam-indicative words: the largest log θ_spam,w − log θ_ham,w (baseline
            # word features are readable; the improved model's are character n-grams)
            flp, vocab = model.flp, state[name]["vocabulary"]
            ratio = flp[1] - flp[0]
            top = np.argsort(-ratio, kind="stable")[: cfg.top_tokens]
            out["top_spam_tokens"] = ", ".join(vocab[k] for k in top)
    imp_state = state["improved"]
    ratio = imp_state["feature_log_prob"].numpy()
    ratio = ratio[1] - ratio[0] if not imp_state["complement"] else ratio[0] - ratio[1]
    top = np.argsort(-ratio, kind="stable")[: cfg.top_tokens]
    out["top_spam_ngrams"] = " | ".join(repr(imp_state["vocabulary"][k])[1:-1] for k in top)
    cv_improved = cross_validate(cfg, texts, y, cfg.cv_splits, cfg.cv_repeats, ctx.seed)
    cv_base = cross_validate(None, texts, y, cfg.cv_splits, cfg.cv_repeats, ctx.seed)
    out["cv"] = {"protocol": f"{cfg.cv_repeats}x{cfg.cv_splits}-fold stratified, all messages",
                 "improved": cv_improved, "baseline": cv_base}
    return out


# ================================================================== family entry points
def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    return _train_golf(cfg, ctx) if ctx.name == "nb_golf" else _train_spam(cfg, ctx)


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    return _evaluate_golf(cfg, ctx) if ctx.name == "nb_golf" else _evaluate_spam(cfg, ctx)
