"""The from-scratch NumPy network (seed article 001) and the CNN article's backward pass:
gradients against torch.autograd (float64) and the articles' exercises."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reprozoo.families.numpy_net import conv_backprop as conv
from reprozoo.families.numpy_net import model as nn


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


# ---------------------------------------------------------------- dense gradient check
@pytest.mark.parametrize("sizes", [(5, 4, 3), (6, 7, 5, 2)])
def test_dense_gradients_match_autograd(sizes):
    rng = np.random.default_rng(1)
    net = nn.Network(sizes, rng)
    x = rng.normal(size=(8, sizes[0]))
    t = rng.uniform(size=(8, sizes[-1]))
    a = net.forward(x)
    dx = net.backward(nn.mse_grad(a, t))

    xt = torch.tensor(x, requires_grad=True)
    params = [(torch.tensor(l.W, requires_grad=True), torch.tensor(l.b, requires_grad=True))
              for l in net.layers]
    h = xt
    for W, b in params:
        h = torch.sigmoid(h @ W + b)
    loss = 0.5 * ((h - torch.tensor(t)) ** 2).sum() / len(x)
    loss.backward()
    assert nn.mse(a, t) == pytest.approx(loss.item(), rel=1e-12)
    assert rel_err(dx, xt.grad) <= 1e-6
    for layer, (W, b) in zip(net.layers, params):
        assert rel_err(layer.dW, W.grad) <= 1e-6
        assert rel_err(layer.db, b.grad) <= 1e-6


def test_dense_gradient_check_can_fail():
    """A wrong backward (no σ' factor) is caught by the same comparison."""
    rng = np.random.default_rng(2)
    layer = nn.Layer(4, 3, rng)
    x = rng.normal(size=(5, 4))
    g = rng.normal(size=(5, 3))
    layer.forward(x)
    layer.backward(g)
    wrong = x.T @ g  # forgets a(1−a)
    assert rel_err(layer.dW, wrong) > 1e-2


# ---------------------------------------------------------------- conv / ReLU / pool
@pytest.mark.parametrize("shape,filters", [((2, 1, 8, 8), 3), ((3, 2, 9, 7), 4)])
def test_conv_relu_pool_gradients_match_autograd(shape, filters):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    w = rng.normal(size=(filters, shape[1], 3, 3))
    b = rng.normal(size=filters) * 0.1
    y, cache = conv.conv_relu_pool_forward(x, w, b)
    r = rng.normal(size=y.shape)  # L = Σ y·r, so ∂L/∂y = r
    dx, dw, db = conv.conv_relu_pool_backward(r, cache)

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    yt = F.max_pool2d(F.relu(F.conv2d(xt, wt, bt)), 2)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    (yt * torch.tensor(r)).sum().backward()
    assert rel_err(dx, xt.grad) <= 1e-6
    assert rel_err(dw, wt.grad) <= 1e-6
    assert rel_err(db, bt.grad) <= 1e-6


def test_conv_input_gradient_is_full_conv_with_rotated_filter():
    """Single channel, hand-sized: ∂L/∂x equals scipy's full 2-d convolution of the error
    with the filter (convolution flips the kernel, i.e. correlation with rot180)."""
    from scipy.signal import convolve2d

    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 1, 6, 6))
    w = rng.normal(size=(1, 1, 3, 3))
    dy = rng.normal(size=(1, 1, 4, 4))
    dx, _, _ = conv.conv3x3_backward(x, w, dy)
    np.testing.assert_allclose(dx[0, 0], convolve2d(dy[0, 0], w[0, 0], mode="full"), atol=1e-12)


def test_maxpool_routes_error_to_the_max():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])
    y, mask = conv.maxpool2x2_forward(x)
    assert y.item() == 5.0
    dx = conv.maxpool2x2_backward(mask, np.array([[[[7.0]]]]), x.shape)
    np.testing.assert_array_equal(dx, [[[[0.0, 7.0], [0.0, 0.0]]]])


# ---------------------------------------------------------------- the article's exercises
def test_one_node_learns_the_three_sample_table():
    x = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    t = np.array([1.0, 1.0, 0.0])
    node = nn.Node(3, np.random.default_rng(0))
    losses = [node.step(x, t, lr=1.0) for _ in range(1000)]
    assert losses[-1] < 0.1 * losses[0]
    np.testing.assert_array_equal(node.forward(x).round(), t)


def pythagoras(n: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n, 3))
    return x, np.sqrt((x ** 2).sum(axis=1, keepdims=True) / 3.0)  # y = √((x1²+x2²+x3²)/3)


def fit(sizes, iters: int, lr: float = 0.1, seed: int = 0):
    x, y = pythagoras()
    net = nn.Network(sizes, np.random.default_rng(seed))
    losses = [net.train_step(x, y, lr) for _ in range(iters)]
    return losses[0], nn.mse(net.forward(x), y)


@pytest.fixture(scope="module")
def pythagoras_runs():
    return {(sizes, iters): fit(sizes, iters)
            for sizes in ((3, 3, 1), (3, 3, 3, 1)) for iters in (1000, 5000)}


@pytest.mark.parametrize("sizes", [(3, 3, 1), (3, 3, 3, 1)])
def test_pythagoras_loss_falls_and_longer_is_lower(pythagoras_runs, sizes):
    first, after_1k = pythagoras_runs[(sizes, 1000)]
    _, after_5k = pythagoras_runs[(sizes, 5000)]
    assert after_1k < first
    assert after_5k < after_1k


# ---------------------------------------------------------------- the numpy_net family
@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """200 fake 28×28 'digits' whose class is a bright 6×6 square at one of 10 places."""
    d = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for split, n in (("train", 300), ("valid", 50), ("test", 100)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            r, col = 4 + 10 * (c // 5), 3 + 4 * (c % 5)
            x[i, r:r + 6, col:col + 6] = 255
        np.save(d / f"x_{split}.npy", x)
        np.save(d / f"y_{split}.npy", y)
    return d


def test_numpy_net_family_trains_evaluates_and_refuses_wrong_shape(tiny_mnist, tmp_path):
    from reprozoo import checkpoint
    from reprozoo.context import Context
    from reprozoo.errors import CheckpointError
    from reprozoo.families import load
    numpy_net = load("numpy_net")  # its Config, train and evaluate, as the stages get them
    from reprozoo.runtime import Runtime

    ctx = Context(name="numpy_net", profile="smoke", data_dir=tiny_mnist, model_dir=tmp_path / "m",
                  report_dir=tmp_path / "r", runtime=Runtime(0, torch.device("cpu"), True))
    cfg = numpy_net.Config(hidden=20, epochs=8, batch_size=16, lr=3.0, augment=False)
    numpy_net.train(cfg, ctx)
    assert ctx.history[-1]["loss"] < ctx.history[0]["loss"]
    out = numpy_net.evaluate(cfg, ctx)
    assert out["test_acc"] >= 0.8
    assert (ctx.report_dir / "confusion_matrix.png").exists()
    # The network is rebuilt from the checkpoint's own config; a state that does not fit it is refused.
    ck = checkpoint.load(ctx.model_path, family="numpy_net", config_cls=numpy_net.Config)
    checkpoint.save(ctx.model_path, family="numpy_net", config=numpy_net.Config(hidden=30), state=ck.state)
    with pytest.raises(CheckpointError, match="does not fit"):
        numpy_net.evaluate(cfg, ctx)


def test_random_crop_shape_and_range():
    from reprozoo.families.numpy_net.model import center_crop, random_crop

    x = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)
    rc = random_crop(x, np.random.default_rng(0))
    assert rc.shape == (2, 576) and center_crop(x).shape == (2, 576)
    assert rc.min() >= 0.0 and rc.max() <= 1.0
