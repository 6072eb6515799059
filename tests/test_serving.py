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


def test_an_input_example_and_its_output_cross_the_pipe_unchanged():
    """The stage sends the model's input example and output to MLflow's process as JSON
    (reprozoo.serving.example): arrays keep dtype, shape, NaN and text; a table of columns
    arrives as a DataFrame with the same column types."""
    import json

    import numpy as np

    def cross(value):
        return serving._from_json(json.loads(json.dumps(serving._to_json(value))))

    x = np.random.default_rng(0).standard_normal((2, 784)).astype(np.float32)
    x[1, 3] = np.nan
    back = cross(x)
    assert back.dtype == np.float32 and back.shape == (2, 784)
    assert np.array_equal(back, x, equal_nan=True)
    texts = np.asarray(["a dog", "猫が好きです。"], dtype=object)
    assert cross(texts).dtype == object and cross(texts).tolist() == texts.tolist()
    actions = np.asarray([3, 1], dtype=np.int64)
    assert cross(actions).dtype == np.int64 and cross(actions).tolist() == [3, 1]
    frame = cross({"user": [0, 1], "item": [2, 3]})
    assert list(frame.columns) == ["user", "item"] and frame["item"].tolist() == [2, 3]
    assert str(frame["user"].dtype) == "int64"
    assert cross(serving.input_example("seq2seq", None))["ja"].tolist() == ["私は学生です。", "猫が好きです。"]
