"""Character-level RNN family: data handling, reference equivalence, training, evaluation."""

import math

import numpy as np
import pytest
import torch

from reprozoo.families import charrnn
from reprozoo.families import load
from reprozoo.families.charrnn.data import load_splits, read_sentences
from reprozoo.families.charrnn.model import CharModel, ModelConfig, cross_entropy
from reprozoo.families.charrnn.rnn_numpy import CharRNN

TRAIN = ["I like apples.", "An apple a day.", "I like apples.", "She has an apple.",
         "The apple is red.", "I want to eat an apple.", "This is an apple pie."] * 3
TEST = ["I like apples.", "He ate an apple.", "Apples are sweet!"]


def _write(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        for s in sentences:
            f.write(f"x\t{s.lower()}\tx\t{s}\n")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tatoeba")
    _write(d / "train.tsv", TRAIN)
    _write(d / "valid.tsv", TEST[:2])
    _write(d / "test.tsv", TEST)
    return d


def test_splits_dedupe_and_hold_out(data_dir):
    s = load_splits(charrnn.Config(), data_dir)
    assert len(s["train"]) == len(set(TRAIN)) == 6          # duplicates dropped
    assert "i like apples." not in s["test"]                 # seen in train → not held out
    assert s["test"] == ["he ate an apple.", "apples are sweet!"]


def test_bad_tsv_row_names_the_line(tmp_path):
    from reprozoo.errors import DataError

    (tmp_path / "train.tsv").write_text("a\tb\tc\td\nno tabs here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.tsv:2"):
        read_sentences(tmp_path / "train.tsv", True)


def test_rnn_cell_equals_the_numpy_article_rnn():
    """cell=rnn with a one-hot 'embedding' is exactly the article's tanh RNN."""
    np_rnn = CharRNN(vocab=tuple("aple"), hidden=6, seed=2)
    m = CharModel(ModelConfig(n_chars=4, embed=4, hidden=6, cell="rnn")).double()
    with torch.no_grad():
        m.emb.weight.copy_(torch.eye(4))
        m.rnn.weight_ih_l0.copy_(torch.tensor(np_rnn.U))
        m.rnn.weight_hh_l0.copy_(torch.tensor(np_rnn.W))
        m.rnn.bias_ih_l0.copy_(torch.tensor(np_rnn.b))
        m.rnn.bias_hh_l0.zero_()
        m.out.weight.copy_(torch.tensor(np_rnn.V))
        m.out.bias.copy_(torch.tensor(np_rnn.c))
    x = torch.tensor([[np_rnn.index[c] for c in "appl"]])
    logits, _ = m(x)
    _, ps = np_rnn.forward(np_rnn.one_hot("appl"))
    np.testing.assert_allclose(torch.softmax(logits[0], -1).detach().numpy(), ps, rtol=1e-10)


def test_streamed_cross_entropy_equals_one_pass():
    torch.manual_seed(0)
    m = CharModel(ModelConfig(n_chars=7, embed=5, hidden=12, cell="gru"))
    ids = torch.randint(0, 7, (241,))
    got = cross_entropy(m, ids, "cpu", strips=1, chunk=17)   # state carried over chunks
    logits, _ = m(ids[None, :-1])
    ref = torch.nn.functional.cross_entropy(logits[0], ids[1:]).item()
    assert got == pytest.approx(ref, rel=1e-5)


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    from reprozoo.context import Context
    from reprozoo.runtime import setup

    root = tmp_path_factory.mktemp("run")
    cfg = charrnn.Config(hidden=32, embed=8, steps=60, seq_len=16, batch_size=16, lr=0.01,
                         eval_every=20, prefixes=("app", "i like"), sample_len=20, n_samples=2)

    def run(tag):
        ctx = Context(name="charrnn", profile="smoke", data_dir=data_dir, model_dir=root / tag / "m",
                      report_dir=root / tag / "r", runtime=setup(0, "cpu"))
        final = load("charrnn").train(cfg, ctx)
        ctx.report_dir = root / tag / "e"
        return ctx, final, load("charrnn").evaluate(cfg, ctx)

    return run("a"), run("b")


def test_training_lowers_the_loss(trained):
    (ctx, final, _), _ = trained
    first, last = ctx.history[0], ctx.history[-1]
    assert last["train_loss"] < first["train_loss"] < math.log(final["n_chars"]) + 0.5
    assert last["valid_loss"] < first["valid_loss"]
    assert (ctx.model_dir / "model.pt").exists()


def test_evaluate_metrics_and_determinism(trained):
    (ctx, _, out), (ctx2, _, out2) = trained
    assert out["test_bits_per_char"] == pytest.approx(out["test_nats_per_char"] / math.log(2))
    assert out["test_nats_per_char"] < math.log(len("abcdefghijklmnopqrstuvwxyz .!"))
    assert out["greedy_completion"]["app"].startswith("app")
    assert out == out2                                         # same seed, same numbers
    assert (ctx.report_dir / "samples.md").read_bytes() == (ctx2.report_dir / "samples.md").read_bytes()
