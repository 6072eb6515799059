"""One vocabulary of metric names across families, for MLflow and the DVC metrics files.

A shared quantity has one name everywhere: `<split>/<quantity>`, split one of `train`,
`valid`, `test`, `cv` (k-fold), so `test/accuracy` is the same column for the SLP, the CNN
and the NumPy network in MLflow's compare view and in `dvc exp show`; per-epoch values
carry `step` = epoch. A family's own numbers keep their own names (`reliable/converged`,
`coverage/min_class_fraction`): extras, not synonyms.

`canonical` maps a family's raw key (`test_acc`, `val_loss`, `valid_acc`, `loss`) to the
vocabulary; `HEADLINE` says which few numbers of each family's evaluation are its DVC
metrics file (`reports/metrics/<family>.json`); the full result goes to a detail file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SPLITS = ("train", "valid", "test", "cv")
# Spellings of one split or quantity that families used before there was a vocabulary.
_SPLIT_ALIASES = {"val": "valid", "validation": "valid", "training": "train"}
_QUANTITY_ALIASES = {"acc": "accuracy", "perplexity_per_char": "perplexity"}

_RAW = re.compile(r"^(train|training|valid|validation|val|test|cv)_(.+)$")


def canonical(name: str) -> str:
    """The vocabulary's name for a family's raw metric key.

    `test_acc` → `test/accuracy`, `val_loss` → `valid/loss`, `loss` → `train/loss` (a
    bare loss is the training loss); a name already in `split/quantity` form, or one with
    no split prefix (`recon_error`, `d_loss`), is returned with `.` → `/` only."""
    if name == "loss":
        return "train/loss"
    m = _RAW.match(name)
    if m:
        split = _SPLIT_ALIASES.get(m.group(1), m.group(1))
        qty = _QUANTITY_ALIASES.get(m.group(2), m.group(2))
        return f"{split}/{qty}"
    if "/" in name:
        split, _, qty = name.partition("/")
        return f"{_SPLIT_ALIASES.get(split, split)}/{_QUANTITY_ALIASES.get(qty, qty)}"
    return name.replace(".", "/")


def is_canonical(name: str) -> bool:
    """True when `canonical` leaves the name as it is (no synonym of a shared quantity)."""
    return canonical(name) == name


# family kind → [(headline name, key of the flattened evaluation result)]; a key absent
# from a family's result is skipped (nb_golf and nb_spam share the naive_bayes kind).
# Every metric a target in report/targets.py names must be here.
HEADLINE: dict[str, list[tuple[str, str]]] = {
    "mnist_clf": [("test/accuracy", "test_accuracy"), ("test/loss", "test_loss")],
    "numpy_net": [("test/accuracy", "test_acc")],
    "multnet": [(f"{v}/{q}", f"{v}.{q}") for v in ("faithful", "reliable", "nac_mul")
                for q in ("converged", "median_rel_err", "p90_rel_err")],
    "rbm": [("test/log_likelihood", "test_log_likelihood_ais"),
            ("test/recon_error", "test_recon_error"),
            ("test/logreg_accuracy", "logreg_test_accuracy.rbm_features"),
            ("test/logreg_accuracy_sklearn_rbm", "logreg_test_accuracy.sklearn_rbm_features")],
    "vae": [("test/loss", "test_loss"), ("test/nll_iwae", "test_nll_iwae")],
    "gan": [("test/fid", "fid_cnn"), ("coverage/min_class_fraction", "coverage.min_class_fraction")],
    "seq2seq": [("test/bleu", "bleu"), ("test/chrf", "chrf")],
    "charrnn": [("test/bits_per_char", "test_bits_per_char"),
                ("test/perplexity", "test_perplexity_per_char")],
    "word2vec": [("test/pair_score", "pairs.score"), ("test/loss", "test_sgns_loss")],
    "mf": [("cv/rmse", "cv.rmse_mean"), ("cv/rmse_std", "cv.rmse_std"),
           ("test/rmse", "split_80_20.rmse"), ("test/mae", "split_80_20.mae")],
    "naive_bayes": [("train/accuracy", "training_accuracy"),
                    ("sklearn/max_abs_diff", "sklearn_max_abs_diff"),
                    ("test/accuracy", "test_improved.accuracy"),
                    ("test/spam_f1", "test_improved.spam_f1"),
                    ("cv/accuracy", "cv.improved.accuracy"),
                    ("cv/spam_f1", "cv.improved.spam_f1")],
    "qlearning": [("test/mean_return", "mean_return"), ("test/optimal_return", "optimal_return"),
                  ("train/episodes_to_threshold", "episodes_to_threshold")],
    "assoc_rules": [("rules", "rules"), ("itemsets", "itemsets"),
                    ("test/mean_lift", "heldout_mean_lift"),
                    ("test/share_lift_gt_1", "heldout_share_lift_gt_1")],
}


def headline(kind: str, flat: Mapping[str, Any]) -> dict[str, Any]:
    """The headline numbers of one evaluation (`flat`: the flattened result), by name."""
    if kind not in HEADLINE:
        raise KeyError(f"no headline metrics for family kind {kind!r}: add it to "
                       "reprozoo.vocabulary.HEADLINE")
    out = {name: flat[key] for name, key in HEADLINE[kind] if key in flat}
    if not out:
        raise KeyError(f"none of the headline metrics of kind {kind!r} "
                       f"({', '.join(k for _, k in HEADLINE[kind])}) is in the result")
    return out
