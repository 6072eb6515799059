"""Which families are MLflow models, and what decides their champion (reprozoo.serving)."""

from reprozoo import serving, vocabulary


def test_every_champion_metric_is_a_headline_metric_of_its_kind():
    for kind, (metric, better) in serving.PRIMARY.items():
        assert metric in {n for n, _ in vocabulary.HEADLINE[kind]}, kind
        assert better in ("max", "min"), kind


def test_servable_families():
    assert serving.servable("mnist_clf", "cnn") and serving.servable("naive_bayes", "nb_spam")
    assert not serving.servable("naive_bayes", "nb_golf")  # a 14-row table, not a model
    assert not serving.servable("multnet", "multnet") and not serving.servable("assoc_rules", "rules")
    assert serving.registered_name("cnn") == "reprozoo-cnn"


def test_a_path_stays_a_path():
    from pathlib import Path

    assert serving.model_path("models/mf/model.pt") == Path("models/mf/model.pt")
