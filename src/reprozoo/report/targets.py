"""The targets the issues set, per family: the report marks each met or missed.

Keys are family names of params.yaml's `families:` (a test checks they agree).
"""

from __future__ import annotations

# Issue targets: family -> (headline metric in reports/metrics/<family>.json, named by
# reprozoo.vocabulary, op, value, profiles).
TARGETS: dict[str, list[tuple[str, str, float, tuple[str, ...]]]] = {
    "slp": [("test/accuracy", ">=", 0.88, ("default",)), ("test/accuracy", ">=", 0.925, ("full",))],
    "mlp": [("test/accuracy", ">=", 0.93, ("default",)), ("test/accuracy", ">=", 0.985, ("full",))],
    "cnn": [("test/accuracy", ">=", 0.96, ("default",)), ("test/accuracy", ">=", 0.995, ("full",))],
    "numpy_net": [("test/accuracy", ">=", 0.94, ("default",)), ("test/accuracy", ">=", 0.975, ("full",))],
    "multnet": [("reliable/converged", ">=", 19, ("default", "full")),
                ("reliable/median_rel_err", "<=", 0.01, ("default", "full")),
                ("reliable/p90_rel_err", "<=", 0.05, ("default", "full"))],
    "gan_mlp": [("coverage/min_class_fraction", ">=", 0.05, ("default",)),
               ("coverage/min_class_fraction", ">=", 0.07, ("full",))],  # issue 15: no class under 7 %
    "gan_dcgan": [("coverage/min_class_fraction", ">=", 0.05, ("default",)),
                 ("coverage/min_class_fraction", ">=", 0.07, ("full",))],  # issue 15: no class under 7 %
    "vae": [("test/loss", "<=", 100.0, ("full",))],
    "rbm": [("test/log_likelihood", ">=", -100.0, ("full",))],
    "mf": [("cv/rmse", "<=", 0.905, ("default", "full"))],
    "nb_spam": [("cv/accuracy", ">=", 0.99, ("default", "full")),
                ("cv/spam_f1", ">=", 0.96, ("default", "full"))],
    "seq2seq": [("test/bleu", ">=", 25.0, ("full",))],
    "ql_frozenlake4": [("test/mean_return", ">=", 0.73, ("default", "full"))],
    "ql_frozenlake8": [("test/mean_return", ">=", 0.88, ("default", "full"))],
    # 8.3 is above the exact optimum (7.93, dynamic programming) of gymnasium's Taxi.
    "ql_taxi": [("test/mean_return", ">=", 8.3, ("default", "full"))],
}

# Targets that compare two families: (family, metric, op, other family, its metric).
RELATIVE: list[tuple[str, str, str, str, str]] = [
    ("gan_dcgan", "test/fid", "<=", "gan_mlp", "test/fid"),  # issue 3 §6: DCGAN FID below the MLP GAN's
    # issue 15: RBM features + logistic regression >= sklearn's BernoulliRBM on the same budget
    ("rbm", "test/logreg_accuracy", ">=", "rbm", "test/logreg_accuracy_sklearn_rbm"),
]
