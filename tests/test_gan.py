"""GAN: shapes, FID against closed forms and scipy, coverage, fixed-seed steps, NaN stop."""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from reprozoo.context import Context
from reprozoo.errors import ConfigError, TrainingError
from reprozoo.families.gan import Config
from reprozoo.families.gan.train import train
from reprozoo.families.gan.evaluate import coverage, feature_stats, fid, frechet_distance
from reprozoo.families.gan.model import MinibatchStd, build_model, pack
from reprozoo.families.gan.train import d_loss_fn, diff_augment, ema_update, fit, g_loss_fn, r1_penalty
from reprozoo.runtime import setup


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_shapes(arch):
    cfg = Config(arch=arch, width=8)
    G, D = build_model(cfg.model_config())
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(4, cfg.z_dim))
    assert x.shape == (4, 1, 28, 28) and float(x.abs().max()) <= 1
    with torch.no_grad():
        assert D(x).shape == (4,)
    if arch == "mlp":  # the article's layer sizes
        sizes = [m.out_features for m in G if isinstance(m, torch.nn.Linear)]
        assert sizes == [128, 256, 512, 1024, 784]
        assert [m.out_features for m in D if isinstance(m, torch.nn.Linear)] == [512, 256, 1]


def test_fid_self_is_zero_and_matches_closed_forms():
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6)))
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    # diagonal Gaussians: ‖μ1−μ2‖² + Σ (√σ1² − √σ2²)²
    m1, m2 = np.arange(4.0), np.ones(4)
    s1, s2 = np.diag([1.0, 2, 3, 4]), np.diag([4.0, 1, 1, 9])
    want = ((m1 - m2) ** 2).sum() + ((np.sqrt(np.diag(s1)) - np.sqrt(np.diag(s2))) ** 2).sum()
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(want, rel=1e-10)
    # full covariances: scipy.linalg.sqrtm reference
    b = a + torch.from_numpy(rng.normal(size=(2000, 6)))
    mu1, c1 = feature_stats(a)
    mu2, c2 = feature_stats(b)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert fid(a, b) == pytest.approx(ref, rel=1e-6)


def test_coverage_entropy():
    uni = coverage(torch.arange(10).repeat(100))
    assert uni["entropy_bits"] == pytest.approx(np.log2(10)) and uni["all_classes_over_5pct"]
    col = coverage(torch.tensor([7] * 90 + [1] * 10))
    assert col["min_class_fraction"] == 0 and not col["all_classes_over_5pct"]
    assert col["entropy_bits"] == pytest.approx(-(0.9 * np.log2(0.9) + 0.1 * np.log2(0.1)))


def make_ctx(tmp_path: Path) -> Context:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    np.save(d / "x_train.npy", rng.integers(0, 256, (128, 28, 28), dtype=np.uint8))
    np.save(d / "y_train.npy", rng.integers(0, 10, 128, dtype=np.uint8))
    return Context(name="gan_mlp", profile="smoke", data_dir=d, model_dir=tmp_path / "models",
                   report_dir=tmp_path / "reports", runtime=setup(0, "cpu"))


def test_few_steps_fixed_seed_are_reproducible(tmp_path):
    cfg = Config(arch="mlp", epochs=2, batch_size=32, d_steps=2)
    runs = []
    for _ in range(2):
        ctx = make_ctx(tmp_path)
        torch.manual_seed(0)
        G, D = build_model(cfg.model_config())
        out = fit(G, D, cfg, torch.rand(128, 1, 28, 28) * 0 + 0.5, ctx)
        runs.append((out["d_loss"], out["g_loss"], ctx.history))
    assert runs[0] == runs[1]
    assert all(np.isfinite(runs[0][:2]))
    assert runs[0][2][0]["g_steps"] == 2  # 4 batches, 2 D steps per G step


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_on_epoch_gets_the_sampled_generator_and_r1_trains(tmp_path, ema):
    cfg = Config(arch="dcgan", width=8, epochs=2, batch_size=32, ema=ema, r1_gamma=1.0,
                 d_batchnorm=False, mbstd_group=4)
    torch.manual_seed(0)
    G, D = build_model(cfg.model_config())
    seen = []
    ctx = make_ctx(tmp_path)
    out = fit(G, D, cfg, torch.rand(64, 1, 28, 28) * 2 - 1, ctx,
              on_epoch=lambda ep, Gs: seen.append((ep, Gs, Gs.training)))
    assert all(h["r1"] > 0 for h in ctx.history)  # the R1 term is logged per epoch
    assert [e for e, _, _ in seen] == [1, 2] and not any(t for _, _, t in seen)
    assert all(Gs is out["G_sample"] for _, Gs, _ in seen)
    assert (out["G_sample"] is G) == (ema == 0.0)
    assert np.isfinite(out["d_loss"]) and np.isfinite(out["g_loss"])


def test_nan_loss_stops_without_model(tmp_path, monkeypatch):
    ctx = make_ctx(tmp_path)
    ctx.model_dir.mkdir()
    cfg = Config(arch="mlp", epochs=1, batch_size=32)

    def poisoned(mcfg):
        G, D = build_model(mcfg)
        with torch.no_grad():
            D[1].weight.fill_(float("nan"))
        return G, D

    monkeypatch.setattr(sys.modules["reprozoo.families.gan.train"], "build_model", poisoned)
    with pytest.raises(TrainingError, match="became nan"):
        train(cfg, ctx)
    assert not ctx.model_path.exists()


def test_ema_update_averages_parameters_and_copies_batchnorm_statistics():
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    avg = copy.deepcopy(model)
    before = [p.detach().clone() for p in avg.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()(torch.randn(8, 3))  # moves the running statistics
    ema_update(avg, model, decay=0.9)
    for a, b, p in zip(avg.parameters(), before, model.parameters()):
        torch.testing.assert_close(a, 0.9 * b + 0.1 * p)
    for a, b in zip(avg.buffers(), model.buffers()):
        torch.testing.assert_close(a, b)


# ------------------------------------------------------------ coverage remedies (benchmarks/gan_variants.py)
def _digits(n=6, seed=0):
    """Random 'digits': ink only inside the central 20×20 box, background −1 (as MNIST)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, 28, 28), -1.0)
    x[:, :, 4:24, 4:24] = torch.rand((n, 1, 20, 20), generator=g) * 2 - 1
    return x


def test_translation_moves_each_image_without_losing_ink():
    x = _digits()
    y = diff_augment(x, "translation", torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    # shifts ≤ 4 px keep the central box inside the frame: same ink, same pixel multiset
    torch.testing.assert_close((y + 1).sum((1, 2, 3)), (x + 1).sum((1, 2, 3)))
    moved = 0
    for a, b in zip(x[:, 0], y[:, 0]):
        hits = [(dx, dy) for dx in range(-4, 5) for dy in range(-4, 5)
                if torch.equal(torch.roll(a, (dx, dy), (0, 1)), b)]
        assert len(hits) == 1          # each output is exactly one shift of its input
        moved += hits[0] != (0, 0)
    assert moved > 0


def test_cutout_blanks_one_square_and_passes_gradients():
    x = torch.ones((8, 1, 28, 28), requires_grad=True)
    y = diff_augment(x, "translation+cutout", torch.Generator().manual_seed(2))
    blank = (y == -1).sum((1, 2, 3))
    # translation brings in at most 4 background rows/cols; the hole is ≤ 14×14 (≥ 7×7 at a corner)
    assert bool((blank >= 49).all()) and bool((blank <= 14 * 14 + 4 * 28 * 2).all())
    y.sum().backward()
    assert x.grad is not None and 0 < float(x.grad.sum()) < x.numel()
    assert torch.equal(diff_augment(x, "none", torch.Generator()), x)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_packed_discriminator_scores_sets(arch):
    cfg = Config(arch=arch, width=8, pack=4, batch_size=8)
    _, D = build_model(cfg.model_config())
    x = _digits(8)
    p = pack(x, 4)
    assert p.shape == (2, 4, 28, 28) and torch.equal(p[1, 2], x[6, 0])
    with torch.no_grad():
        assert D(p).shape == (2,)
    with pytest.raises(ConfigError, match="pack = 3 must divide batch_size = 64"):
        Config(pack=3)


def test_hinge_losses_and_spectral_norm():
    cfg = Config(arch="dcgan", width=8, loss="hinge", spectral_norm=True)
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # relu(1 − real) = [0, .5] → .25; relu(1 + fake) = [0, 1] → .5
    assert float(d_loss_fn(real, fake, cfg)) == pytest.approx(0.75)
    assert float(g_loss_fn(fake, cfg)) == pytest.approx(1.0)
    bce = Config()
    assert float(d_loss_fn(real, fake, bce)) == pytest.approx(
        float(torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()))
    _, D = build_model(cfg.model_config())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    D.train()
    for _ in range(30):  # power iterations run on each training forward pass
        D(_digits(4))
    for m in D.modules():
        if isinstance(m, torch.nn.Linear):
            assert float(torch.linalg.matrix_norm(m.weight.detach(), 2)) == pytest.approx(1.0, abs=0.05)


def test_cpu_threads_pins_the_count_and_restores_it():
    from reprozoo.runtime import cpu_threads

    old = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    with cpu_threads(0):  # 0 = leave torch's default
        assert torch.get_num_threads() == old


def test_resize_upsampling_generator():
    cfg = Config(arch="dcgan", width=8, upsample="resize")
    G, D = build_model(cfg.model_config())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert sum(isinstance(m, torch.nn.Upsample) for m in G.modules()) == 2
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(3, cfg.z_dim))
        assert x.shape == (3, 1, 28, 28) and D(x).shape == (3,)
    # the default stays the article-era DCGAN's transposed convolutions
    G0, _ = build_model(Config(arch="dcgan", width=8).model_config())
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in G0.modules()) == 2


def test_minibatch_std_feature_matches_hand_computation():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 2, 2)
    y = MinibatchStd(4)(x)
    assert y.shape == (8, 4, 2, 2) and torch.equal(y[:, :3], x)
    # groups are {m, m+2, m+4, m+6} for m = 0, 1
    for m in (0, 1):
        grp = x[m::2]                                          # (4,3,2,2)
        want = float(grp.var(0, unbiased=False).add(1e-8).sqrt().mean())
        for b in range(m, 8, 2):
            assert torch.allclose(y[b, 3], torch.full((2, 2), want), atol=1e-6)
    same = MinibatchStd(4)(x[:1].expand(4, 3, 2, 2))
    assert float(same[:, 3].max()) < 1e-3                      # no variety → ~0


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_mbstd_discriminator_shapes_and_group_check(arch):
    cfg = Config(arch=arch, width=8, mbstd_group=4, d_batchnorm=False)
    _, D = build_model(cfg.model_config())
    assert any(isinstance(m, MinibatchStd) for m in D.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    with torch.no_grad():
        a = D(_digits(8))
        b = D(torch.cat([_digits(8)[:4], _digits(8)[:4]]))    # other batch-mates change the score
    assert a.shape == (8,) and not torch.allclose(a[:4], b[:4])
    with pytest.raises(ConfigError, match="mbstd_group = 3 must divide the 32 D inputs"):
        Config(batch_size=64, pack=2, mbstd_group=3)


def test_r1_penalty_is_the_squared_input_gradient():
    # linear D(x) = w·x + b: ∇ₓD = w for every image, so the penalty is ‖w‖²
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1), torch.nn.Flatten(0))
    x = _digits(5)
    out, pen = r1_penalty(D, x)
    w = D[1].weight.detach()
    assert out.shape == (5,) and float(pen.detach()) == pytest.approx(float((w ** 2).sum()), rel=1e-5)
    pen.backward()  # differentiable in D's weights: d‖w‖²/dw = 2w
    assert torch.allclose(D[1].weight.grad, 2 * w, atol=1e-6)
    # a nonlinear D: compare with the per-sample gradient taken one image at a time
    cfg = Config(arch="dcgan", width=8, d_batchnorm=False)
    _, D2 = build_model(cfg.model_config())
    _, pen2 = r1_penalty(D2, x)
    per = []
    for i in range(5):
        xi = x[i:i + 1].clone().requires_grad_(True)
        (gi,) = torch.autograd.grad(D2(xi).sum(), xi)
        per.append(float((gi ** 2).sum()))
    assert float(pen2.detach()) == pytest.approx(np.mean(per), rel=1e-4)


def test_checkpoint_rebuilds_the_generator_from_its_saved_config(tmp_path):
    from reprozoo import checkpoint
    from reprozoo.errors import CheckpointError
    from reprozoo.families.gan.evaluate import load_model

    cfg = Config(arch="dcgan", width=8, upsample="resize")
    torch.manual_seed(0)
    G, D = build_model(cfg.model_config())
    checkpoint.save(tmp_path / "m.pt", family="gan_dcgan", config=cfg,
                    state={"G": G.state_dict(), "D": D.state_dict()})
    saved = torch.load(tmp_path / "m.pt", weights_only=True)["config"]
    assert "classifier" not in saved  # the classifier is the stage's `needs` input, not a param
    G2 = load_model(tmp_path / "m.pt", family="gan_dcgan")
    assert not G2.training
    z = torch.randn(2, cfg.z_dim)
    with torch.no_grad():
        assert torch.equal(G2(z), G.eval()(z))
    with pytest.raises(CheckpointError, match="not 'gan_mlp'"):
        load_model(tmp_path / "m.pt", family="gan_mlp")
