"""The multiplication network (seed article 000): the article's architecture, the faithful
net's loss falls, the reliable variant's closed-form fits are accurate (against NumPy's
least squares and the exact log), NAC-mul multiplies the article's failure cases, bad
checkpoints and NaN losses are refused."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from reprozoo import checkpoint
from reprozoo.context import Context
from reprozoo.errors import CheckpointError, TrainingError
from reprozoo.families.multnet import Config
from reprozoo.families.multnet.evaluate import load_model, rel_errors, summarize
from reprozoo.families.multnet.model import LOG_N, Model, fit_output, grid, init_mlp, knot_mlp, mlp
from reprozoo.families.multnet.train import _adam, train, train_faithful, train_nac, train_reliable
from reprozoo.runtime import Runtime, generator


def ctx_for(tmp_path: Path) -> Context:
    return Context(name="multnet", profile="smoke", data_dir=tmp_path, model_dir=tmp_path / "models",
                   report_dir=tmp_path / "reports", runtime=Runtime(0, torch.device("cpu"), True))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only spin on a shared CPU
    yield
    torch.set_num_threads(old)


def test_shapes_and_article_architecture():
    cfg = Config(seeds=3)
    model = Model("faithful", init_mlp((1, 4, 4, 4, 1), 3, generator(0)),
                  init_mlp((1, 4, 4, 4, 1), 3, generator(1)))
    assert [tuple(p.shape) for p in model.log_params[::2]] == [(3, 1, 4), (3, 4, 4), (3, 4, 4), (3, 4, 1)]
    x, y = grid()
    assert x.shape == y.shape == (10_000,) and x[101].item() == 2 and y[101].item() == 2
    assert model.predict(x, y).shape == (3, 10_000)
    assert rel_errors(model).shape == (3, 100, 100)
    assert cfg.variants == ("faithful", "reliable", "nac_mul")


def test_error_table_and_convergence_rule():
    err = np.full((2, 100, 100), 0.002)
    err[1, :9, :9] = 0.5  # seed 1 fails on one-digit × one-digit products only (81 pairs)
    s = summarize(err)
    assert s["converged"] == 2  # 81 bad pairs < 10 %: median and p90 still pass
    assert s["error_table_all_seeds"]["1digit_x_1digit"] == pytest.approx((0.002 + 0.5) / 2)
    err[1, :30, :] = 0.5  # 30 % of the pairs bad → p90 fails
    assert summarize(err)["converged"] == 1
    assert summarize(err)["converged_2digit_pairs_only"] == 1  # rows 10..29 are two-digit


def test_faithful_loss_decreases_on_a_fixed_seed():
    _, losses = train_faithful(Config(seeds=2, steps=60, lr=0.01, batch=10_000), generator(0))
    assert losses[-1] < 0.5 * losses[0]


def test_knot_init_and_closed_form_output_fit_log_1_to_100():
    v = torch.arange(1, 101, dtype=torch.float64)
    xin = (v / 100).reshape(1, -1, 1).expand(4, -1, -1)
    target = (torch.log(v) / LOG_N).reshape(1, -1, 1)
    params = knot_mlp(0.01, 1.0, 32, 4, generator(0), geometric=True)
    assert [tuple(p.shape) for p in params[::2]] == [(4, 1, 32), (4, 32, 32), (4, 32, 32), (4, 32, 1)]
    fit_output(params, xin, target)
    # the (slightly ridged) output layer is within 2× the residual of NumPy's least squares on the same features
    a = np.c_[torch.relu(mlp(params[:-2], xin))[0].numpy(), np.ones(100)]
    t = target[0].numpy()
    ref, *_ = np.linalg.lstsq(a, t, rcond=None)
    fitted = torch.cat([params[-2][0], params[-1][0]]).numpy()
    assert np.mean((a @ fitted - t) ** 2) <= 2 * np.mean((a @ ref - t) ** 2) + 1e-9  # ridge 1e-10·n
    # log-domain error = relative error of x: below 1 % on every integer 1..100, every seed
    err = ((mlp(params, xin) - target).abs() * LOG_N).max().item()
    assert err < 0.01


@pytest.fixture(scope="module")
def reliable():
    return train_reliable(Config(seeds=3, hidden_reliable=32), generator(0))


def test_reliable_meets_the_issue_target_including_one_digit_operands(reliable):
    model, _ = reliable
    s = summarize(rel_errors(model))
    assert s["converged"] == 3
    assert s["error_table_all_seeds"]["1digit_x_1digit"] < 0.01
    x = torch.tensor([7.0, 17.0], dtype=torch.float64)
    y = torch.tensor([82.0, 2.0], dtype=torch.float64)  # the article got 302 for both
    np.testing.assert_allclose(model.predict(x, y).numpy(), np.broadcast_to([574.0, 34.0], (3, 2)), rtol=0.03)


def test_nac_mul_multiplies_the_article_failures():
    model, _ = train_nac(Config(seeds=3, nac_steps=300), generator(0))
    x = torch.tensor([7.0, 17.0], dtype=torch.float64)
    y = torch.tensor([82.0, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(model.predict(x, y).numpy(), np.broadcast_to([574.0, 34.0], (3, 2)), rtol=0.01)


def test_nan_loss_stops_training():
    w = torch.zeros(1, dtype=torch.float64)
    with pytest.raises(TrainingError, match="nan"):
        _adam([w], lambda: (w * math.nan).sum(), steps=3, lr=0.1)


def test_train_then_load_round_trip(tmp_path):
    ctx = ctx_for(tmp_path)
    cfg = Config(seeds=2, steps=20, nac_steps=20, hidden_reliable=8)
    train(cfg, ctx)
    models = load_model(ctx.model_path)
    assert set(models) == {"faithful", "reliable", "nac_mul"}
    assert rel_errors(models["reliable"]).shape == (2, 100, 100)
    # The models are rebuilt from the checkpoint's own config; weights that do not fit it are refused.
    state = checkpoint.load(ctx.model_path, family="multnet", config_cls=Config).state
    checkpoint.save(ctx.model_path, family="multnet", config=Config(seeds=2, hidden_reliable=16), state=state)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model(ctx.model_path)


def test_checkpoint_from_another_family_or_shape_is_refused(tmp_path):
    ctx = ctx_for(tmp_path)
    checkpoint.save(ctx.model_path, family="numpy_net", config=Config(), state={})
    with pytest.raises(CheckpointError, match="not 'multnet'"):
        load_model(ctx.model_path)
    cfg = Config(variants=("nac_mul",), seeds=2)
    checkpoint.save(ctx.model_path, family="multnet", config=cfg,
                    state={"nac_mul": {"w": torch.ones(5, 2, dtype=torch.float64)}})
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model(ctx.model_path)
    checkpoint.save(ctx.model_path, family="multnet", config=Config(seeds=2), state={})
    with pytest.raises(CheckpointError, match="no 'faithful' variant"):
        load_model(ctx.model_path)
