"""The targets the issues set, per family: the report marks each met or missed.

Keys are family names of params.yaml's `families:` (a test checks they agree).
"""

from __future__ import annotations

# Issue targets: family -> (metric key in reports/metrics/<family>.json, op, value, profiles).
TARGETS: dict[str, list[tuple[str, str, float, tuple[str, ...]]]] = {
    "slp": [("test_accuracy", ">=", 0.88, ("default",)), ("test_accuracy", ">=", 0.925, ("full",))],
    "mlp": [("test_accuracy", ">=", 0.93, ("default",)), ("test_accuracy", ">=", 0.983, ("full",))],
    "cnn": [("test_accuracy", ">=", 0.96, ("default",)), ("test_accuracy", ">=", 0.993, ("full",))],
    "numpy_net": [("test_acc", ">=", 0.94, ("default",)), ("test_acc", ">=", 0.975, ("full",))],
    "multnet": [("reliable.converged", ">=", 19, ("default", "full")),
                ("reliable.median_rel_err", "<=", 0.01, ("default", "full")),
                ("reliable.p90_rel_err", "<=", 0.05, ("default", "full"))],
    "gan_mlp": [("coverage.min_class_fraction", ">=", 0.05, ("default", "full"))],
    "gan_dcgan": [("coverage.min_class_fraction", ">=", 0.05, ("default", "full"))],
    "vae": [("test_loss", "<=", 100.0, ("full",))],
    "rbm": [("test_log_likelihood_ais", ">=", -100.0, ("full",))],
    "mf": [("cv.rmse_mean", "<=", 0.905, ("default", "full"))],
    "nb_spam": [("cv.improved.accuracy", ">=", 0.99, ("default", "full")),
                ("cv.improved.spam_f1", ">=", 0.96, ("default", "full"))],
    "seq2seq": [("bleu", ">=", 25.0, ("full",))],
    "ql_frozenlake4": [("mean_return", ">=", 0.73, ("default", "full"))],
    "ql_frozenlake8": [("mean_return", ">=", 0.88, ("default", "full"))],
    # 8.3 is above the exact optimum (7.93, dynamic programming) of gymnasium's Taxi.
    "ql_taxi": [("mean_return", ">=", 8.3, ("default", "full"))],
}

# Targets that compare two families: (family, metric, op, other family, its metric).
RELATIVE: list[tuple[str, str, str, str, str]] = [
    ("gan_dcgan", "fid_cnn", "<=", "gan_mlp", "fid_cnn"),  # issue 3 §6: DCGAN FID below the MLP GAN's
]
