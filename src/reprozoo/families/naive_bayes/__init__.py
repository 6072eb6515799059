"""Naive Bayes (seed article 004): the article's golf table and SMS spam filtering
(families `nb_golf`, `nb_spam`).

`nb_golf`: the article's 14-day golf table (data/static/golf.csv: 天気, 気温, 湿度, 風 →
ゴルフ YES/NO) with a hand-written categorical naive Bayes whose priors (9/14, 5/14) and
likelihoods (e.g. P(晴れ|YES) = 2/9) are the article's relative frequencies; checked
against `sklearn.naive_bayes.CategoricalNB` in the evaluate stage and in the tests.

`nb_spam`: the UCI SMS Spam Collection. Baseline: `MultinomialNB` on word counts (as a
hand-written multinomial NB equal to sklearn's to 1e-9 in log-probabilities). Improved:
still naive Bayes, on better features (character n-grams within word boundaries,
tf-idf with sublinear tf) and tuned smoothing. Both are scored under 5×5-fold stratified
CV on all messages (the issue's protocol) and on the held-out stratified test split.
`reprozoo spam "..."` (src/reprozoo/cli/spam.py) labels messages with the trained model.

References: the seed article 004; Almeida, Gómez Hidalgo & Yamakami, "Contributions to the
Study of SMS Spam Filtering" (DocEng 2011), the data set's paper; Rennie et al. 2003
(complement NB, tf-idf for NB).

Results: reports/README.md, rows nb_golf and nb_spam (`dvc repro evaluate@nb_golf
evaluate@nb_spam`).

    config.py    Config (params.yaml sections nb_golf, nb_spam) and its ModelConfig
    model.py     categorical NB (golf), multinomial NB, Bayes' rule, the spam pipeline
    train.py     fit and save (golf counts; spam vocabulary + NB parameters)
    evaluate.py  load the models, the article's query, sklearn cross-checks, spam CV
"""

from .config import Config

__all__ = ["Config"]
