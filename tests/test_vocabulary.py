"""One vocabulary of metric names: the same quantity has one name in every family."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from reprozoo import vocabulary
from reprozoo.vocabulary import HEADLINE, canonical, is_canonical

FAMILIES = Path(__file__).resolve().parents[1] / "src/reprozoo/families"
# Spellings that mean a shared quantity under another name: none may survive `canonical`.
SYNONYMS = {"acc", "val", "validation", "training", "perplexity_per_char"}


@pytest.mark.parametrize("raw, name", [
    ("test_acc", "test/accuracy"), ("test_accuracy", "test/accuracy"), ("val_acc", "valid/accuracy"),
    ("valid_acc", "valid/accuracy"), ("val_loss", "valid/loss"), ("loss", "train/loss"),
    ("train_loss", "train/loss"), ("valid_bleu", "valid/bleu"), ("train_rmse", "train/rmse"),
    ("test_perplexity_per_char", "test/perplexity"), ("d_loss", "d_loss"), ("cv.rmse_mean", "cv/rmse_mean"),
    ("test/accuracy", "test/accuracy"), ("val/acc", "valid/accuracy")])
def test_canonical_maps_every_spelling_to_one_name(raw, name):
    assert canonical(raw) == name
    assert is_canonical(name)


def _logged_names() -> dict[str, set[str]]:
    """family kind → the metric names its code logs per step (`ctx.log_step(step, name=…)`)."""
    out: dict[str, set[str]] = {}
    for f in FAMILIES.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "log_step":
                names = {k.arg for k in node.keywords if k.arg}
                for k in node.keywords:  # log_step(step, **{"a": x}) / **row
                    if k.arg is None and isinstance(k.value, ast.Dict):
                        names |= {c.value for c in k.value.keys if isinstance(c, ast.Constant)}
                out.setdefault(f.parent.name, set()).update(names)
    return out


def _tokens(name: str) -> set[str]:
    return set(re.split(r"[/._]", name)) | {name.split("/", 1)[-1]}


def test_no_family_logs_a_shared_quantity_under_another_name():
    logged = _logged_names()
    assert {"mnist_clf", "numpy_net", "seq2seq", "mf", "vae"} <= set(logged)  # the scan sees them
    assert "val_loss" in logged["numpy_net"]  # ... and a raw synonym, which canonical renames
    bad = {(kind, raw, canonical(raw)) for kind, names in logged.items() for raw in names
           if _tokens(canonical(raw)) & SYNONYMS}
    assert not bad, f"metric names outside the vocabulary (fix them or teach canonical): {sorted(bad)}"


def test_one_accuracy_column_for_every_classifier():
    logged = _logged_names()
    for kind in ("mnist_clf", "numpy_net"):
        assert "valid/accuracy" in {canonical(n) for n in logged[kind]}, kind
        assert ("test/accuracy", ) == tuple(n for n, _ in HEADLINE[kind] if n.endswith("accuracy"))


def test_headline_names_are_in_the_vocabulary():
    for kind, pairs in HEADLINE.items():
        names = [n for n, _ in pairs]
        assert len(names) == len(set(names)), kind
        for name, key in pairs:
            assert is_canonical(name) and not _tokens(name) & SYNONYMS, (kind, name)
            # a headline that has a split names it the way MLflow's per-step metric does
            if "/" in canonical(key) and canonical(key).split("/")[0] in vocabulary.SPLITS:
                assert name.split("/")[0] == canonical(key).split("/")[0], (kind, name, key)


def test_headline_picks_the_numbers_and_refuses_an_unknown_kind():
    flat = {"test_acc": 0.95, "per_class_acc.0": 0.9, "n_test": 10000}
    assert vocabulary.headline("numpy_net", flat) == {"test/accuracy": 0.95}
    with pytest.raises(KeyError, match="no headline metrics for family kind 'nope'"):
        vocabulary.headline("nope", flat)
    with pytest.raises(KeyError, match="none of the headline metrics"):
        vocabulary.headline("mnist_clf", {"n_test": 1})


def test_every_target_is_a_headline_metric():
    from reprozoo.report.targets import RELATIVE, TARGETS

    import yaml
    raw = yaml.safe_load((FAMILIES.parents[2] / "params.yaml").read_text(encoding="utf-8"))
    kinds = {f: e["kind"] for f, e in raw["families"].items()}
    for fam, targets in TARGETS.items():
        names = {n for n, _ in HEADLINE[kinds[fam]]}
        assert {t[0] for t in targets} <= names, fam
    for fam, key, _, other, okey in RELATIVE:
        assert key in {n for n, _ in HEADLINE[kinds[fam]]} and okey in {n for n, _ in HEADLINE[kinds[other]]}
