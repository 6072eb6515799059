"""RBM maths against brute-force enumeration (seed article 003's derivations)."""

import math

import numpy as np
import pytest
import torch

from reprozoo.families.rbm.model import RBM, ModelConfig, ais_log_z, all_binary, cd_gradient, exact_log_z


def tiny(V=4, H=3, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return RBM(scale * torch.randn(V, H, generator=g, dtype=torch.float64),
               torch.randn(V, generator=g, dtype=torch.float64),
               torch.randn(H, generator=g, dtype=torch.float64))


def joint(rbm):
    """(vs, hs, p(v,h)) over every configuration, by enumeration of E(v,h)."""
    V, H = rbm.W.shape
    vs, hs = all_binary(V, dtype=torch.float64), all_binary(H, dtype=torch.float64)
    neg_e = (vs @ rbm.b)[:, None] + (hs @ rbm.c)[None, :] + vs @ rbm.W @ hs.T  # (2^V, 2^H)
    return vs, hs, torch.softmax(neg_e.flatten(), 0).view_as(neg_e)


def test_conditionals_match_enumeration():
    rbm = tiny()
    vs, hs, p = joint(rbm)
    # p(h_j = 1 | v) = Σ_{h: h_j=1} p(v,h) / p(v)
    p_h_enum = (p @ hs) / p.sum(1, keepdim=True)
    torch.testing.assert_close(rbm.p_h(vs), p_h_enum, rtol=1e-10, atol=1e-12)
    p_v_enum = (p.T @ vs) / p.sum(0)[:, None]
    torch.testing.assert_close(rbm.p_v(hs), p_v_enum, rtol=1e-10, atol=1e-12)


def test_free_energy_is_marginal():
    rbm = tiny()
    vs, _, p = joint(rbm)
    log_pv = torch.log(p.sum(1))
    torch.testing.assert_close(-rbm.free_energy(vs) - exact_log_z(rbm), log_pv, rtol=1e-9, atol=1e-9)


def test_cd_gradient_shapes_and_positive_phase():
    """Shapes; with k = 0 the negative phase equals the positive one (zero update), and
    the positive phase is E_data[v p(h|v)ᵀ] (checked by enumeration of h)."""
    rbm = tiny()
    v0 = all_binary(4, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    (dW, db, dc), vk = cd_gradient(rbm, v0, v0, 1, g)
    assert dW.shape == (4, 3) and db.shape == (4,) and dc.shape == (3,) and vk.shape == v0.shape
    (dW0, db0, dc0), _ = cd_gradient(rbm, v0, v0, 0, g)
    assert float(dW0.abs().max()) == 0 and float(db0.abs().max()) == 0 and float(dc0.abs().max()) == 0
    _, hs, p = joint(rbm)
    p_h_given_v = p / p.sum(1, keepdim=True)  # (2^V, 2^H)
    pos = torch.einsum("nv,nk,kh->vh", v0, p_h_given_v, hs) / len(v0)
    torch.testing.assert_close(v0.T @ rbm.p_h(v0) / len(v0), pos)


def test_cd_steps_reduce_reconstruction_error():
    g = torch.Generator().manual_seed(0)
    protos = (torch.rand(4, 36, generator=g) < 0.5).float()
    data = protos[torch.randint(0, 4, (400,), generator=g)]
    data = torch.where(torch.rand(data.shape, generator=g) < 0.05, 1 - data, data)
    rbm = RBM.init(ModelConfig(n_hidden=16, n_visible=36), g, visible_mean=data.mean(0))
    before = float(rbm.reconstruction_error(data).mean())
    for step in range(200):
        v0 = data[(step * 20) % 400:(step * 20) % 400 + 20]
        (dW, db, dc), _ = cd_gradient(rbm, v0, v0, 1, g)
        rbm.W += 0.1 * dW
        rbm.b += 0.1 * db
        rbm.c += 0.1 * dc
    after = float(rbm.reconstruction_error(data).mean())
    assert after < 0.5 * before, (before, after)


def test_ais_matches_exact_log_z():
    rbm = tiny(V=12, H=6, scale=0.8, seed=3)
    data = all_binary(12, dtype=torch.float64)[::7]
    from reprozoo.families.rbm.model import base_rate_bias

    est, _ = ais_log_z(rbm, base_rate_bias(data), n_runs=200, n_betas=1000,
                       g=torch.Generator().manual_seed(0))
    assert est == pytest.approx(exact_log_z(rbm), abs=0.1)


def test_pseudo_log_likelihood_matches_enumeration():
    """Each term log σ(F(v_flip) − F(v)) = log p(v_i | v_-i) from the joint."""
    rbm = tiny()
    vs, _, p = joint(rbm)
    pv = p.sum(1)
    g = torch.Generator().manual_seed(0)
    pll = rbm.pseudo_log_likelihood(vs, g, n_bits=400)
    exact = torch.zeros(len(vs), dtype=torch.float64)
    idx = {tuple(v.tolist()): k for k, v in enumerate(vs)}
    for k, v in enumerate(vs):
        for i in range(4):
            f = v.clone()
            f[i] = 1 - f[i]
            exact[k] += math.log(pv[k] / (pv[k] + pv[idx[tuple(f.tolist())]]))
    np.testing.assert_allclose(pll.numpy(), exact.numpy(), rtol=0.1)


def test_wrong_family_checkpoint_is_rejected(tmp_path):
    from reprozoo import checkpoint
    from reprozoo.errors import CheckpointError
    from reprozoo.families.rbm import Config
    from reprozoo.families.rbm.evaluate import load_model

    checkpoint.save(tmp_path / "m.pt", family="vae", config=Config(), state={"x": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="family 'vae', not 'rbm'"):
        load_model(tmp_path / "m.pt")


def test_checkpoint_round_trip_and_shape_mismatch(tmp_path):
    from reprozoo import checkpoint
    from reprozoo.errors import CheckpointError
    from reprozoo.families.rbm import Config
    from reprozoo.families.rbm.evaluate import load_model

    cfg = Config(n_hidden=5)
    rbm = RBM.init(cfg.model_config(), torch.Generator().manual_seed(0))
    checkpoint.save(tmp_path / "m.pt", family="rbm", config=cfg, state=rbm.state())
    back = load_model(tmp_path / "m.pt")
    assert all(torch.equal(getattr(back, k), getattr(rbm, k)) for k in "Wbc")
    checkpoint.save(tmp_path / "w.pt", family="rbm", config=Config(n_hidden=6), state=rbm.state())
    with pytest.raises(CheckpointError, match="'W' has shape"):
        load_model(tmp_path / "w.pt")


def test_linear_step_size_against_closed_form():
    """linear: lr·(1 − (e−1)/E) at epoch e (lr at the first, lr/E at the last); constant: lr."""
    import dataclasses

    from reprozoo.families.rbm.config import Config
    from reprozoo.families.rbm.train import step_size

    cfg = Config(lr=0.02, epochs=4, lr_schedule="linear")
    assert [step_size(cfg, e) for e in range(1, 5)] == pytest.approx([0.02, 0.015, 0.01, 0.005])
    const = dataclasses.replace(cfg, lr_schedule="constant")
    assert {step_size(const, e) for e in range(1, 5)} == {0.02}


def test_lr_schedule_rejects_unknown_value():
    from reprozoo.config import ConfigError, build
    from reprozoo.families.rbm.config import Config

    with pytest.raises(ConfigError, match="lr_schedule = 'cosine'"):
        build(Config, {"lr_schedule": "cosine"}, where="rbm")
