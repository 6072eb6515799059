"""word2vec: the article's full-softmax NumPy skip-gram and the torch SGNS family."""

import json

import numpy as np
import pytest
import torch

from reprozoo.families import load
w2v = load("word2vec")  # its Config, train and evaluate, as the stages get them
from reprozoo.families.word2vec import word2vec_numpy as w2n
from reprozoo.families.word2vec.data import Vocab, load_corpus, read_pairs
from reprozoo.families.word2vec.model import (NoiseSampler, flatten, keep_probability, sgns_loss, sgns_step,
                                              skipgram_pairs, unit, window_pairs)
from reprozoo.families.word2vec.train import fit


# ------------------------------------------------------------------ the article's model
def test_article_sentence_vocabulary_and_windows():
    tokens = w2n.ARTICLE_SENTENCE.split()
    m = w2n.SkipGramSoftmax(epochs=1).fit([tokens])
    # 10 tokens, 9 distinct words ("and" twice), in order of first occurrence
    assert len(tokens) == 10 and len(m.vocab_) == 9
    assert m.vocab_ == ["natural", "language", "processing", "and", "machine", "learning",
                        "is", "fun", "exciting"]
    # the sentence named in the project brief would not give the article's 9 words
    assert len(set("i like playing football with my friends".split())) == 7
    pairs = w2n.training_pairs(tokens, window=2)
    assert len(pairs) == 10                                   # one sample per token
    assert pairs[0] == ("natural", ["language", "processing"])        # clipped at the start
    assert pairs[1] == ("language", ["natural", "processing", "and"])
    assert pairs[4] == ("machine", ["processing", "and", "learning", "is"])
    assert pairs[-1] == ("exciting", ["fun", "and"])                  # clipped at the end
    assert [len(c) for _, c in pairs] == [2, 3, 4, 4, 4, 4, 4, 4, 3, 2]


def test_full_softmax_gradients_match_autograd():
    tokens = w2n.ARTICLE_SENTENCE.split()
    m = w2n.SkipGramSoftmax(dim=10, epochs=0, seed=3).fit([tokens])
    for target, ctx in w2n.training_pairs(tokens, 2)[:4]:
        t, c = m.index_[target], [m.index_[w] for w in ctx]
        loss, dw1, dw2 = m.loss_and_grads(t, c)
        W1 = torch.tensor(m.W1_, requires_grad=True)
        W2 = torch.tensor(m.W2_, requires_grad=True)
        logp = torch.log_softmax(W2.T @ W1[t], 0)
        ref = -logp[c].sum()                                  # sum over the context words
        ref.backward()
        assert loss == pytest.approx(float(ref.detach()), rel=1e-12)
        np.testing.assert_allclose(dw1, W1.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dw2, W2.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_full_softmax_training_lowers_the_loss():
    m = w2n.SkipGramSoftmax(epochs=50, lr=0.01, seed=0).fit([w2n.ARTICLE_SENTENCE.split()])
    assert m.losses_[-1] < 0.8 * m.losses_[0]
    assert len(m.similar("machine", k=3)) == 3


# ------------------------------------------------------------------ SGNS (torch family)
def test_subsampling_keep_probability_closed_form():
    counts = np.array([1000.0, 100.0, 10.0, 1.0])
    t = 1e-3
    f = counts / counts.sum()
    expected = np.minimum(1.0, (np.sqrt(f / t) + 1) * t / f)
    np.testing.assert_allclose(keep_probability(counts, t), expected)
    # the most frequent word (f ≈ 0.9) is kept ~3.4 % of the time; rare words always
    assert keep_probability(counts, t)[0] == pytest.approx((np.sqrt(900.9) + 1) / 900.9, rel=1e-3)
    assert keep_probability(counts, t)[-1] == 1.0
    assert np.all(keep_probability(counts, 0.0) == 1.0)


def test_skipgram_pairs_stay_in_sentence_and_window():
    sents = [np.array([0, 1, 2, 3]), np.array([4, 5])]
    pairs = skipgram_pairs(sents, window=2, rng=np.random.default_rng(0))
    sent_of = {0: 0, 1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert all(sent_of[a] == sent_of[b] for a, b in pairs)
    assert all(0 < abs(a - b) <= 2 for a, b in pairs)
    full = skipgram_pairs(sents, window=1, rng=np.random.default_rng(0))
    assert sorted(map(tuple, full.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4)]


def test_window_pairs_equal_a_plain_loop_with_the_same_draws():
    rng = np.random.default_rng(7)
    sents = [rng.integers(0, 50, n) for n in rng.integers(0, 12, 40)]   # some empty, some 1 word
    toks, sid = flatten(sents)
    window = 4
    got = window_pairs(toks, sid, window, np.random.default_rng(3))
    # the loop word2vec.c runs: centre i reaches reach[i] words either side in its sentence
    reach = np.random.default_rng(3).integers(1, window + 1, len(toks))   # the same draws
    want = [(toks[i], toks[j]) for i in range(len(toks)) for j in range(len(toks))
            if 0 < abs(i - j) <= reach[i] and sid[i] == sid[j]]
    assert sorted(map(tuple, got.tolist())) == sorted(want)
    # and the reach is uniform on 1..window: pairs per centre average window + 1 in long text
    long = np.zeros(200_000, np.int64)
    assert len(window_pairs(long, long, window, rng)) / len(long) == pytest.approx(window + 1, rel=0.01)


def test_noise_sampler_draws_unigram_to_the_three_quarters():
    counts = np.array([500.0, 120.0, 40.0, 9.0, 3.0, 3.0, 1.0])
    want = counts ** 0.75 / (counts ** 0.75).sum()
    noise = NoiseSampler(counts)
    np.testing.assert_allclose(noise.probabilities(), want, rtol=1e-6)   # the alias table is exact
    draws = noise.draw((400_000,), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=len(counts)) / len(draws)
    np.testing.assert_allclose(freq, want, atol=3e-3)


def test_sgns_manual_gradient_equals_autograd():
    g = torch.Generator().manual_seed(0)
    w_in, w_out = torch.randn(20, 8, generator=g), torch.randn(20, 8, generator=g)
    centre = torch.tensor([1, 2, 2, 5])       # repeated rows: index_add_ must accumulate
    context = torch.tensor([3, 4, 3, 6])
    negs = torch.randint(0, 20, (4, 3), generator=g)
    negs[0, 1] = 3                            # a noise word that is also a context word
    a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    ref = sgns_loss(a, b, centre, context, negs) * len(centre)          # summed loss
    ref.backward()
    lr = 0.1
    new_in, new_out = w_in.clone(), w_out.clone()
    with torch.inference_mode():
        loss = sgns_step(new_in, new_out, centre, torch.cat([context[:, None], negs], 1), lr)
    assert loss == pytest.approx(float(ref.detach()), rel=1e-5)
    torch.testing.assert_close(new_in, w_in - lr * a.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(new_out, w_out - lr * b.grad, rtol=1e-5, atol=1e-6)


def test_fit_is_bit_identical_for_a_fixed_seed():
    itos = [f"w{i}" for i in range(11)]
    sents = _tiny_corpus(200)
    vocab = Vocab(itos, sents, min_count=1)
    cfg = w2v.Config(dim=8, window=3, negative=2, epochs=2, batch_size=32, lr=0.05, sample=1e-2)
    runs = [fit(cfg, vocab, vocab.encode(sents), seed=5) for _ in range(2)]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2]
    other = fit(cfg, vocab, vocab.encode(sents), seed=6)
    assert not torch.equal(runs[0][0], other[0])


def _tiny_corpus(n=400, seed=0):
    """Two topics that never share a sentence: words 0-4 and 5-9 (+ frequent word 10)."""
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(0, 5, 6) + 5 * (i % 2), 10) for i in range(n)]


def test_sgns_loss_decreases_and_separates_topics():
    itos = [f"w{i}" for i in range(11)]
    sents = _tiny_corpus()
    vocab = Vocab(itos, sents, min_count=1)
    cfg = w2v.Config(dim=16, window=3, negative=3, epochs=4, batch_size=64, lr=0.05, sample=0.0)
    logged = []
    w_in, _, stats = fit(cfg, vocab, vocab.encode(sents), seed=0,
                             log=lambda step, **m: logged.append(m["train_loss"]))
    assert logged[-1] < logged[0] < np.log(2) * (1 + cfg.negative) + 1e-3
    u = unit(w_in)
    ix = vocab.index
    same = float(u[ix["w0"]] @ u[ix["w1"]])
    other = float(u[ix["w0"]] @ u[ix["w6"]])
    assert same > other


def test_family_train_evaluate_end_to_end(tmp_path):
    from reprozoo.context import Context
    from reprozoo.runtime import setup

    data = tmp_path / "tatoeba"
    data.mkdir()
    itos = ["<pad>", "<sos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(11)]
    sents = [s + 4 for s in _tiny_corpus(300)]
    for split in ("train", "test"):
        ids = np.concatenate(sents).astype(np.int32)
        off = np.cumsum([0] + [len(s) for s in sents]).astype(np.int64)
        np.savez(data / f"{split}.npz", en_ids=ids, en_offsets=off, ja_ids=ids, ja_offsets=off)
    (data / "vocab_en.json").write_text(json.dumps({"itos": itos, "min_freq": 1}))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# comment\nw0\tw1\tw6\nw5\tw7\tw2\nw0\tw1\tnotaword\n")
    cfg = w2v.Config(lang="en", dim=16, window=3, negative=3, epochs=3, batch_size=64, lr=0.05,
                     sample=0.0, min_count=1, queries=("w0", "zzz"), neighbours=3, plot_words=8)
    ctx = Context(name="word2vec_en", profile="smoke", data_dir=data, model_dir=tmp_path / "m",
                  report_dir=tmp_path / "r", runtime=setup(0, "cpu"), needs=pairs)
    w2v.train(cfg, ctx)
    out = w2v.evaluate(cfg, ctx)
    assert out["pairs"]["pairs_used"] == 2 and out["pairs"]["pairs_skipped"] == 1
    assert out["pairs"]["score"] == 1.0
    assert out["neighbours"]["zzz"] == "(not in vocabulary)"
    assert (tmp_path / "r" / "pca.png").exists()


def test_vocab_mismatch_is_a_clear_error(tmp_path):
    from reprozoo.errors import DataError

    np.savez(tmp_path / "train.npz", en_ids=np.array([0, 9], np.int32), en_offsets=np.array([0, 2]))
    (tmp_path / "vocab_en.json").write_text(json.dumps({"itos": ["<pad>", "a"], "min_freq": 1}))
    with pytest.raises(DataError, match="different runs"):
        load_corpus(tmp_path, "en", "train")


def test_pair_list_with_wrong_columns_names_the_line(tmp_path):
    from reprozoo.errors import DataError

    p = tmp_path / "p.tsv"
    p.write_text("a\tb\tc\nonly\ttwo\n")
    with pytest.raises(DataError, match=r"p.tsv:2"):
        read_pairs(p)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_committed_pair_lists_are_well_formed(lang):
    from pathlib import Path

    rows = read_pairs(Path(__file__).parent.parent / "data" / "static" / f"w2v_pairs_{lang}.tsv")
    assert len(rows) >= 30 and all(len(set(r)) == 3 for r in rows)
