"""The article's NumPy RNN: BPTT against torch autograd, and the "apple" task."""

import numpy as np
import pytest
import torch

from reprozoo.families.charrnn.rnn_numpy import CharRNN


def autograd_loss(m: CharRNN, xs: np.ndarray, targets: list[int], h0: np.ndarray):
    """The same network written with torch ops, float64; returns loss and parameter grads."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in m.params().items()}
    h = torch.tensor(h0, dtype=torch.float64)
    loss = torch.zeros((), dtype=torch.float64)
    for t, x in enumerate(torch.tensor(xs, dtype=torch.float64)):
        h = torch.tanh(p["U"] @ x + p["W"] @ h + p["b"])
        loss = loss - torch.log_softmax(p["V"] @ h + p["c"], 0)[targets[t]]
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in p.items()}


@pytest.mark.parametrize("seed,hidden,text", [(0, 8, "apple"), (4, 5, "hello world"), (7, 16, "abracadabra")])
def test_bptt_matches_autograd(seed, hidden, text):
    vocab = tuple(sorted(set(text)))
    m = CharRNN(vocab=vocab, hidden=hidden, seed=seed)
    rng = np.random.default_rng(seed)
    for k, v in m.params().items():  # larger weights than the init: saturating tanh too
        v[...] = rng.normal(0, 0.8, v.shape)
    xs = m.one_hot(text[:-1])
    targets = [m.index[c] for c in text[1:]]
    h0 = rng.normal(0, 0.5, hidden)
    loss, grads, _ = m.loss_and_grads(xs, targets, h0)
    ref_loss, ref = autograd_loss(m, xs, targets, h0)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for k in ref:
        rel = np.linalg.norm(grads[k] - ref[k]) / max(np.linalg.norm(ref[k]), 1e-12)
        assert rel <= 1e-6, f"{k}: relative error {rel:.2e}"


def test_bptt_is_not_truncated():
    """A gradient that ignored the recurrence (dh_next = 0) would fail the check above;
    make sure the check can tell: W's gradient must depend on steps beyond the last one."""
    m = CharRNN(vocab=tuple("aple"), hidden=6, seed=1)
    xs = m.one_hot("appl")
    targets = [m.index[c] for c in "pple"]
    _, g_full, _ = m.loss_and_grads(xs, targets)
    _, g_last, _ = m.loss_and_grads(xs[-1:], targets[-1:])
    assert np.linalg.norm(g_full["W"]) > 0 and not np.allclose(g_full["W"], g_last["W"])


def test_apple_learns_next_letters():
    m = CharRNN(vocab=tuple("aple"), hidden=8, seed=4)
    losses = m.fit("apple", epochs=300, lr=0.1)
    assert losses[-1] < 0.1 * losses[0]
    # "p" follows "a" and "ap"; after "app" comes "l": only the hidden state can tell.
    assert [m.predict_next("apple"[:i]) for i in range(1, 5)] == list("pple")
