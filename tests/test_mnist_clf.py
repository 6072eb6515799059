"""MNIST classifiers: shapes, a reference (scikit-learn), loss goes down, augmentation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reprozoo.families.mnist_clf import Config
from reprozoo.families.mnist_clf.evaluate import save_winner, winner_images
from reprozoo.families.mnist_clf.model import build_model, features, init_from_images, shift_batch


@pytest.mark.parametrize("arch, feat_dim", [("slp", 784), ("mlp", 512), ("mlp_imginit", 512), ("cnn", 128)])
def test_output_and_feature_shapes(arch, feat_dim):
    model = build_model(Config(arch=arch).model_config())
    x = torch.rand(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    assert features(model, x).shape[-1] == feat_dim


def test_few_steps_on_fixed_seed_reduce_the_loss():
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    model = build_model(Config(arch="cnn").model_config())
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]  # 2.31 → 1.63 measured (seed 0)


def test_slp_matches_sklearn_logistic_regression_on_real_digits(mnist_workspace):
    """Softmax regression trained to convergence ≈ scikit-learn's multinomial LR."""
    from sklearn.linear_model import LogisticRegression

    from reprozoo.data import mnist

    x, y = mnist.load(mnist_workspace / "data/processed/mnist", "train")
    xt, yt = mnist.load(mnist_workspace / "data/processed/mnist", "test")
    x, xt = x.reshape(len(x), -1) / 255.0, xt[:2000].reshape(2000, -1) / 255.0
    yt = yt[:2000]
    C = 1.0
    ref = LogisticRegression(C=C, max_iter=2000).fit(x, y)
    # Same objective in torch: mean CE + L2/(2·C·n) on the weights, full-batch L-BFGS.
    model = build_model(Config(arch="slp").model_config()).double()
    xb, yb = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.LBFGS(model.parameters(), max_iter=500, tolerance_grad=1e-9,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        w = model[1].weight
        loss = F.cross_entropy(model(xb.view(-1, 1, 28, 28)), yb) + (w ** 2).sum() / (2 * C * len(x))
        loss.backward()
        return loss

    opt.step(closure)
    ours = model(torch.from_numpy(xt).view(-1, 1, 28, 28)).argmax(1).numpy()
    agree = (ours == ref.predict(xt)).mean()
    assert agree > 0.97, agree
    assert abs((ours == yt).mean() - ref.score(xt, yt)) < 0.01


def test_image_init_puts_unit_norm_training_images_in_the_hidden_layer():
    x = torch.rand(600, 1, 28, 28)
    model = build_model(Config(arch="mlp_imginit", hidden=32).model_config())
    init_from_images(model, x, seed=0)
    w = model[1].weight
    assert torch.allclose(w.norm(dim=1), torch.ones(32), atol=1e-5)
    flat = x.flatten(1) / x.flatten(1).norm(dim=1, keepdim=True)
    match = (w @ flat.T).max(1).values  # each row equals some training image
    assert torch.allclose(match, torch.ones(32), atol=1e-5)


def test_shift_batch_translates_pixels_and_is_seeded():
    x = torch.zeros(4, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = shift_batch(x, g1), shift_batch(x, g2)
    assert torch.equal(a, b)
    assert torch.equal(a.sum((1, 2, 3)), torch.ones(4))  # a pixel moves, never duplicates
    pos = a[:, 0].flatten(1).argmax(1)
    rows, cols = pos // 28, pos % 28
    assert ((rows - 14).abs() <= 2).all() and ((cols - 14).abs() <= 2).all()


@pytest.mark.parametrize("arch", ["slp", "mlp", "mlp_imginit"])
def test_winner_images_are_the_weights_of_the_most_active_units(arch):
    torch.manual_seed(0)
    cfg = Config(arch=arch)
    model = build_model(cfg.model_config()).eval()
    x = torch.rand(1, 1, 28, 28)
    imgs, titles = winner_images(model, cfg, x)
    out = int(model(x).argmax(1))
    np.testing.assert_array_equal(imgs[0], x[0, 0].numpy())
    if arch == "slp":
        assert titles[1] == f"winner output {out}"
        np.testing.assert_allclose(imgs[1].ravel(), model[1].weight[out].detach().numpy())
    else:
        h = model[2](model[1](model[0](x)))
        j = int(h.argmax(1))
        assert titles[1:] == [f"hidden winner {j}", f"output winner {out}"]
        np.testing.assert_allclose(imgs[1].ravel(), model[1].weight[j].detach().numpy())
        np.testing.assert_allclose(imgs[2].ravel(), model[4].weight[out].detach().numpy())  # 512 → 16×32
        assert imgs[2].shape == (16, 32)


def test_winner_comparison_panel_needs_all_three_models(tmp_path):
    from reprozoo.report.winner_panel import winner_comparison

    out = tmp_path / "figures/winner_neurons.png"
    torch.manual_seed(0)
    x = torch.rand(1, 1, 28, 28)
    for arch in ("slp", "mlp", "mlp_imginit"):
        assert winner_comparison(tmp_path, out) is None and not out.exists()
        cfg = Config(arch=arch)
        save_winner(build_model(cfg.model_config()).eval(), cfg, x, tmp_path / "eval" / arch, arch)
        assert (tmp_path / "eval" / arch / "winner_neuron.png").stat().st_size > 1000
    assert winner_comparison(tmp_path, out) == out and out.stat().st_size > 5000


def test_load_model_rebuilds_from_the_checkpoint_config_and_refuses_misfits(tmp_path):
    from reprozoo import checkpoint
    from reprozoo.errors import CheckpointError
    from reprozoo.families.mnist_clf.evaluate import load_model

    torch.manual_seed(0)
    cfg = Config(arch="mlp", hidden=16)
    model = build_model(cfg.model_config()).eval()
    path = tmp_path / "model.pt"
    checkpoint.save(path, family="mlp", config=cfg, state=model.state_dict())
    loaded = load_model(path, "mlp")
    assert not loaded.training
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded(x), model(x))  # hidden=16 comes from the checkpoint, not a default
    with pytest.raises(CheckpointError, match="is for family 'mlp', not 'cnn'"):
        load_model(path)
    checkpoint.save(path, family="mlp", config=Config(arch="mlp", hidden=32), state=model.state_dict())
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_model(path, "mlp")


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_cosine_schedule_takes_the_step_size_to_zero_over_the_epochs(schedule, monkeypatch):
    """`schedule: cosine` anneals Adam's lr every batch from lr to ~0 at the last batch of
    `epochs`; `constant` keeps it (the step sizes Adam is called with are recorded)."""
    from types import SimpleNamespace

    from reprozoo.families.mnist_clf.train import fit

    seen = []
    step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(250, 1, 28, 28, generator=g), torch.randint(0, 10, (250,), generator=g)
    cfg = Config(arch="slp", epochs=3, batch_size=64, lr=0.01, patience=10, schedule=schedule)
    ctx = SimpleNamespace(seed=0, name="slp", log_step=lambda *a, **k: None)
    fit(build_model(cfg.model_config()), cfg, x, y, x[:50], y[:50], ctx)
    assert len(seen) == 3 * 4  # 250 digits in batches of 64: 4 steps an epoch
    if schedule == "constant":
        assert seen == [0.01] * 12
    else:
        assert seen[0] == pytest.approx(0.01)
        assert all(a > b for a, b in zip(seen, seen[1:]))
        assert seen[-1] == pytest.approx(0.01 * (1 + np.cos(np.pi * 11 / 12)) / 2)
        assert seen[-1] < 0.001
