"""Naive Bayes: the article's golf table and worked Bayes examples, the hand-written
multinomial NB against scikit-learn, the SMS prepare contract and the spam CLI."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from reprozoo.data import sms_spam
from reprozoo.families.naive_bayes import Config
from reprozoo.families.naive_bayes.evaluate import GOLF_QUERY, sklearn_categorical
from reprozoo.families.naive_bayes.model import (CategoricalNaiveBayes, MultinomialNaiveBayes, SpamModel,
                                                 bayes_posterior, bayes_rule, spam_state)
from reprozoo.families.naive_bayes.train import fit_pipeline, read_golf

GOLF = Path(__file__).resolve().parents[1] / "data" / "static" / "golf.csv"


@pytest.fixture(scope="module")
def golf():
    names, X, y = read_golf(GOLF)
    return names, X, y, CategoricalNaiveBayes(alpha=0.0).fit(X, y)


def test_golf_table_is_the_articles(golf):
    names, X, y, _ = golf
    assert names == ["天気", "気温", "湿度", "風"] and len(X) == 14
    assert y.count("YES") == 9 and y.count("NO") == 5


def test_golf_priors_and_likelihoods_exact(golf):
    _, _, _, m = golf
    assert m.prior("YES") == 9 / 14 and m.prior("NO") == 5 / 14
    assert m.likelihood(0, "晴れ", "YES") == 2 / 9 and m.fraction(0, "晴れ", "YES") == Fraction(2, 9)
    assert m.fraction(0, "晴れ", "NO") == Fraction(3, 5)
    assert m.fraction(0, "曇り", "YES") == Fraction(4, 9) and m.fraction(0, "曇り", "NO") == 0
    assert m.fraction(1, "涼しい", "YES") == Fraction(3, 9)
    assert m.fraction(2, "高い", "NO") == Fraction(4, 5)
    assert m.fraction(3, "あり", "YES") == Fraction(3, 9) and m.fraction(3, "あり", "NO") == Fraction(3, 5)


def test_golf_query_prediction(golf):
    _, _, _, m = golf
    joint = dict(zip(m.classes_, m.joint(GOLF_QUERY)))
    # P(YES)·P(晴れ|YES)·P(涼しい|YES)·P(高い|YES)·P(あり|YES) = 9/14·2/9·3/9·3/9·3/9
    assert joint["YES"] == pytest.approx(float(Fraction(9, 14) * Fraction(2, 9) * Fraction(1, 3) ** 3), rel=1e-12)
    assert joint["NO"] == pytest.approx(float(Fraction(5, 14) * Fraction(3, 5) * Fraction(1, 5)
                                              * Fraction(4, 5) * Fraction(3, 5)), rel=1e-12)
    assert round(joint["YES"], 4) == 0.0053 and round(joint["NO"], 4) == 0.0206
    assert m.predict([GOLF_QUERY]) == ["NO"]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_golf_matches_sklearn_categorical_nb(golf, alpha):
    """Ours = sklearn CategoricalNB (α=0 forced: zero likelihoods give exact 0/1 posteriors)."""
    _, X, y, _ = golf
    m = CategoricalNaiveBayes(alpha).fit(X, y)
    enc, sk = sklearn_categorical(X, y, alpha)
    rows = X + [GOLF_QUERY]
    Xe = enc.transform(np.array(rows, dtype=object))
    assert list(sk.classes_) == m.classes_
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sklearn's log(0) at α = 0
        np.testing.assert_allclose(m.predict_proba(rows), sk.predict_proba(Xe), atol=1e-12)
    assert m.predict(rows) == list(sk.predict(Xe))


def test_article_spam_example():
    # P(word|spam) = 0.023, P(word|ham) = 0.0022, equal priors → P(spam|word) ≈ 0.912
    p = bayes_posterior(0.5, 0.023, 0.0022)
    assert p == pytest.approx(0.023 / 0.0252, rel=1e-12)
    assert abs(p - 0.912) < 1e-3


def test_smoking_lung_cancer_example():
    # P(cancer) = 0.05, P(smoker) = 0.10, P(smoker|cancer) = 0.15 → P(cancer|smoker) = 0.075
    assert bayes_rule(prior=0.05, likelihood=0.15, evidence=0.10) == pytest.approx(0.075, abs=1e-12)
    # the same through the two-way partition: P(smoker|no cancer) = (0.10 − 0.15·0.05) / 0.95
    assert bayes_posterior(0.05, 0.15, (0.10 - 0.15 * 0.05) / 0.95) == pytest.approx(0.075, abs=1e-12)


@pytest.fixture(scope="module")
def sms(mirror):
    """1,500 real messages, read from the verified data mirror (the fetch stage's source)."""
    texts, labels, bad = sms_spam.read_messages(mirror / "sms-spam" / "SMSSpamCollection")
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(texts), 1500, replace=False))
    return [texts[k] for k in keep], np.array(labels)[keep]


@pytest.mark.parametrize("alpha", [1.0, 0.01])
def test_handwritten_multinomial_nb_equals_sklearn(sms, alpha):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    texts, y = sms
    X = CountVectorizer().fit_transform(texts)
    ours = MultinomialNaiveBayes(alpha).fit(X[:1000], y[:1000])
    ref = MultinomialNB(alpha=alpha).fit(X[:1000], y[:1000])
    np.testing.assert_allclose(ours.feature_log_prob_, ref.feature_log_prob_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.class_log_prior_, ref.class_log_prior_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.predict_log_proba(X[1000:]), ref.predict_log_proba(X[1000:]),
                               rtol=0, atol=1e-9)
    assert np.array_equal(ours.predict(X[1000:]), ref.predict(X[1000:]))


def test_saved_spam_model_reproduces_sklearn(sms):
    texts, y = sms
    cfg = Config(alpha=0.01)
    vec, clf = fit_pipeline(cfg.model_config(), texts[:600], y[:600])
    model = SpamModel(cfg.model_config(), spam_state(vec, clf))
    np.testing.assert_allclose(model.spam_probability(texts[1000:]),
                               clf.predict_proba(vec.transform(texts[1000:]))[:, 1], atol=1e-9)


def test_sms_prepare_reports_bad_lines_and_stratifies(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    lines = [f"{'spam' if k % 5 == 0 else 'ham'}\tmessage number {k}" for k in range(100)]
    lines[10:10] = ["no tab here", "eggs\tunknown label", "ham\t   "]
    (raw / sms_spam.FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    stats = sms_spam.prepare(sms_spam.Config(test_fraction=0.2), raw, out, seed=0)
    assert [b["line"] for b in stats["bad_lines"]] == [11, 12, 13]
    assert stats["n_messages"] == 100 and stats["n_test"] == 20 and stats["n_test_spam"] == 4
    texts, labels, test = sms_spam.load(out)
    assert len(texts) == 100 and labels.dtype == np.uint8 and test.dtype == bool


def test_spam_cli_without_model_is_one_clear_error(tmp_path, capsys):
    from reprozoo.cli import main

    assert main(["spam", "hello", "--model", str(tmp_path / "none.pt")]) == 1
    assert "no checkpoint" in capsys.readouterr().err


def test_spam_cli_labels_a_message(tmp_path, sms, capsys):
    from reprozoo import checkpoint
    from reprozoo.cli import main

    texts, y = sms
    cfg = Config(alpha=0.01)
    state = {"improved": spam_state(*fit_pipeline(cfg.model_config(), texts[:600], y[:600])),
             "baseline": spam_state(*fit_pipeline(None, texts[:600], y[:600]))}
    ckpt = checkpoint.save(tmp_path / "m.pt", family="nb_spam", config=cfg, state=state)
    assert main(["spam", "WINNER!! claim your prize now", "ok see you at home later", "--model", str(ckpt)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("spam\tP(spam)=") and out[1].startswith("ham\t")
