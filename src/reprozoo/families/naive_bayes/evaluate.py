"""Evaluate `nb_golf` (the article's query day, training accuracy, the cross-check with
sklearn's CategoricalNB) and `nb_spam` (held-out test scores, the most spam-indicative
features, repeated stratified k-fold CV of the improved model and the baseline)."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np

from reprozoo import checkpoint, plots
from reprozoo.checkpoint import Checkpoint
from reprozoo.context import Context

from .config import Config
from .model import CategoricalNaiveBayes, ModelConfig, SpamModel
from .train import fit_pipeline, read_golf


# ================================================================== golf
def load_golf_model(path: str | os.PathLike, family: str = "nb_golf"
                    ) -> tuple[CategoricalNaiveBayes, list[str], Checkpoint[Config]]:
    """The trained golf model at `path` (its α from the saved config) and its feature names."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    s = ck.state
    nb = CategoricalNaiveBayes(ck.config.model_config().alpha)
    nb.classes_ = list(checkpoint.tensor(s, "classes", None, path))
    nb.categories_ = [list(c) for c in checkpoint.tensor(s, "categories", None, path)]
    nb.class_count_ = checkpoint.tensor(s, "class_count", (len(nb.classes_),), path).numpy()
    nb.counts_ = [checkpoint.tensor(s, f"counts_{j}", (len(nb.classes_), len(cats)), path).numpy()
                  for j, cats in enumerate(nb.categories_)]
    return nb, list(checkpoint.tensor(s, "features", None, path)), ck


def sklearn_categorical(X: list[list[str]], y: list[str], alpha: float) -> Any:
    """sklearn's CategoricalNB on the same table (ordinal-encoded), for the cross-check."""
    from sklearn.naive_bayes import CategoricalNB
    from sklearn.preprocessing import OrdinalEncoder

    enc = OrdinalEncoder()
    Xe = enc.fit_transform(np.array(X, dtype=object))
    # sklearn clips α=0 to 1e-10 unless forced; force it so α=0 means the plain fractions
    with np.errstate(divide="ignore"):  # log(0) for values never seen with a class
        return enc, CategoricalNB(alpha=alpha, force_alpha=True).fit(Xe, np.array(y))


def _count_ratio(nb: CategoricalNaiveBayes, j: int, v: str, c: str) -> str:
    ci = nb.classes_.index(c)
    return f"{int(nb.counts_[j][ci, nb.categories_[j].index(v)])}/{int(nb.class_count_[ci])}"


# The article's query day: 晴れ, 涼しい, 高い, あり (sunny, cool, high humidity, windy).
GOLF_QUERY = ["晴れ", "涼しい", "高い", "あり"]


def _evaluate_golf(cfg: Config, ctx: Context) -> dict[str, Any]:
    nb, names, _ = load_golf_model(ctx.model_path, ctx.name)
    _, X, y = read_golf(ctx.data_dir)
    pred = nb.predict(X)
    enc, sk = sklearn_categorical(X, y, nb.alpha)
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


# ================================================================== spam
SPAM_STATE = ("vocabulary", "feature_log_prob", "class_log_prior", "complement")


def load_spam_models(path: str | os.PathLike, family: str = "nb_spam"
                     ) -> tuple[dict[str, SpamModel], Checkpoint[Config]]:
    """The saved spam pipelines at `path`: {"improved": built from the saved config,
    "baseline": word counts + MultinomialNB}."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    models = {}
    for name, mc in (("improved", ck.config.model_config()), ("baseline", None)):
        state = checkpoint.tensor(ck.state, name, None, path)
        for key in SPAM_STATE:
            checkpoint.tensor(state, key, None, f"{path} ({name} model)")
        models[name] = SpamModel(mc, state)
    return models, ck


def spam_scores(y: np.ndarray, pred: np.ndarray, p_spam: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", pos_label=1, zero_division=0)
    return {"accuracy": float(accuracy_score(y, pred)), "spam_precision": float(p),
            "spam_recall": float(r), "spam_f1": float(f), "roc_auc": float(roc_auc_score(y, p_spam))}


def cross_validate(cfg: ModelConfig | None, texts: list[str], y: np.ndarray, splits: int, repeats: int,
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


def _evaluate_spam(cfg: Config, ctx: Context) -> dict[str, Any]:
    from reprozoo.data import sms_spam

    models, ck = load_spam_models(ctx.model_path, ctx.name)
    state = ck.state
    texts, y, test = sms_spam.load(ctx.data_dir)
    te_texts, yt = [t for t, m in zip(texts, test) if m], y[test]
    out: dict[str, Any] = {"n_test": int(test.sum())}
    for name, model in models.items():
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
    cv_improved = cross_validate(cfg.model_config(), texts, y, cfg.cv_splits, cfg.cv_repeats, ctx.seed)
    cv_base = cross_validate(None, texts, y, cfg.cv_splits, cfg.cv_repeats, ctx.seed)
    out["cv"] = {"protocol": f"{cfg.cv_repeats}x{cfg.cv_splits}-fold stratified, all messages",
                 "improved": cv_improved, "baseline": cv_base}
    return out


# ================================================================== family entry point
def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    return _evaluate_golf(cfg, ctx) if ctx.name == "nb_golf" else _evaluate_spam(cfg, ctx)
