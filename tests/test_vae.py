"""VAE: shapes, the loss against closed forms, IWAE vs ELBO, a few steps, bad checkpoints."""

import math

import pytest
import torch

from reprozoo import checkpoint
from reprozoo.context import Context
from reprozoo.errors import CheckpointError
from reprozoo.families.vae import Config
from reprozoo.families.vae.evaluate import iwae_nll, load_model
from reprozoo.families.vae.evaluate import test_loss as one_sample_loss  # not a test
from reprozoo.families.vae.model import VAE, ModelConfig
from reprozoo.families.vae.train import fit
from reprozoo.runtime import setup


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    protos = torch.rand(5, 1, 28, 28, generator=g)
    x = protos[torch.randint(0, 5, (256,), generator=g)]
    return (x + 0.1 * torch.rand(x.shape, generator=g)).clamp(0, 1)


def test_shapes_and_loss_closed_form(data):
    torch.manual_seed(0)
    m = VAE(ModelConfig(400, 20))
    eps = torch.randn(8, 20)
    logits, loss = m(data[:8], eps)
    assert logits.shape == (8, 784) and loss.shape == (8,)
    mu, logvar = m.encode(data[:8])
    z = mu + torch.exp(0.5 * logvar) * eps
    probs = torch.sigmoid(m.decode(z))
    x = data[:8].flatten(1)
    bce = -(x * probs.log() + (1 - x) * (1 - probs).log()).sum(1)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(loss, bce + kl, rtol=1e-4, atol=1e-3)


def test_iwae_bound_is_tighter_than_elbo(data):
    torch.manual_seed(0)
    m = VAE(ModelConfig(64, 4))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for _ in range(30):
        _, loss = m(data, torch.randn(len(data), 4))
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    elbo = one_sample_loss(m, data, seed=1)
    nll1 = float(iwae_nll(m, data, k=1, seed=2).mean())
    nll50 = float(iwae_nll(m, data, k=50, seed=2).mean())
    assert nll1 == pytest.approx(elbo, rel=0.02)  # k = 1 is the ELBO
    assert nll50 < nll1


def test_iwae_exact_for_linear_gaussian_posterior():
    """With q = the prior and a decoder that ignores z, every weight equals p(x):
    IWAE returns the exact Bernoulli NLL for any k."""
    m = VAE(ModelConfig(8, 2))
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    x = torch.rand(3, 1, 28, 28)
    nll = iwae_nll(m, x, k=7, seed=0)
    torch.testing.assert_close(nll, torch.full((3,), 784 * math.log(2)), rtol=1e-5, atol=1e-4)


def test_few_steps_reduce_loss(data):
    torch.manual_seed(0)
    m = VAE(ModelConfig(64, 8))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    before = one_sample_loss(m, data, seed=1)
    for _ in range(20):
        _, loss = m(data, torch.randn((len(data), 8), generator=g))
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    assert one_sample_loss(m, data, seed=1) < 0.9 * before


def test_checkpoint_shape_mismatch_is_clear(tmp_path):
    cfg = Config(hidden=16, latent_dim=3, latent2_epochs=0)
    checkpoint.save(tmp_path / "m.pt", family="vae", config=cfg,
                    state={"main": VAE(ModelConfig(16, 5)).state_dict()})
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_model(tmp_path / "m.pt")
    checkpoint.save(tmp_path / "r.pt", family="rbm", config=cfg, state={})
    with pytest.raises(CheckpointError, match="not 'vae'"):
        load_model(tmp_path / "r.pt")


def test_checkpoint_rebuilds_both_models_from_the_saved_config(tmp_path):
    cfg = Config(hidden=16, latent_dim=3, latent2_epochs=1)
    torch.manual_seed(0)
    main, two = VAE(cfg.model_config()), VAE(cfg.latent2_model_config())
    checkpoint.save(tmp_path / "m.pt", family="vae", config=cfg,
                    state={"main": main.state_dict(), "latent2": two.state_dict()})
    m, m2 = load_model(tmp_path / "m.pt")
    assert m.fc_mu.out_features == 3 and m2 is not None and m2.fc_mu.out_features == 2
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), main.state_dict().values()))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_fit_follows_the_schedule_and_lowers_the_loss(tmp_path, data, schedule):
    cfg = Config(hidden=32, latent_dim=4, batch_size=32, lr=1e-2, schedule=schedule)
    ctx = Context(name="vae", profile="smoke", data_dir=None, model_dir=tmp_path / "m",
                  report_dir=tmp_path / "r", runtime=setup(0, "cpu"))
    torch.manual_seed(0)
    model = VAE(cfg.model_config())
    before = one_sample_loss(model, data, seed=1)
    final = fit(model, cfg, data[:192], data[192:], ctx, epochs=4, tag="")
    lrs = [row["lr"] for row in ctx.history]
    assert len(lrs) == 4 and final["valid_loss"] < 0.95 * before
    if schedule == "constant":
        assert lrs == [1e-2] * 4
    else:  # 6 batches an epoch: after epoch e the lr is 1e-2 * (1 + cos(pi * e / 4)) / 2
        assert lrs == pytest.approx([1e-2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in (1, 2, 3, 4)],
                                    abs=1e-9)
