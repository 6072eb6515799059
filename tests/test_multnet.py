"""The multiplication network (seed article 000): shapes, training reduces the loss, the
reliable variants reach low error, bad checkpoints and NaN losses are refused."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from reprozoo import checkpoint
from reprozoo.context import Context
from reprozoo.errors import CheckpointError, TrainingError
from reprozoo.families import multnet as m
from reprozoo.runtime import Runtime


def ctx_for(tmp_path: Path) -> Context:
    return Context(name="multnet", profile="smoke", data_dir=tmp_path, model_dir=tmp_path / "models",
                   report_dir=tmp_path / "reports", runtime=Runtime(0, torch.device("cpu"), True))


def test_shapes_and_article_architecture():
    cfg = m.Config(seeds=3)
    model = m.Model("faithful", m.init_mlp((1, 4, 4, 4, 1), 3, m.generator(0)),
                    m.init_mlp((1, 4, 4, 4, 1), 3, m.generator(1)))
    assert [tuple(p.shape) for p in model.log_params[::2]] == [(3, 1, 4), (3, 4, 4), (3, 4, 4), (3, 4, 1)]
    x, y = m.grid()
    assert x.shape == y.shape == (10_000,) and x[101].item() == 2 and y[101].item() == 2
    assert model.predict(x, y).shape == (3, 10_000)
    assert m.rel_errors(model).shape == (3, 100, 100)
    assert cfg.variants == ("faithful", "reliable", "nac_mul")


def test_error_table_and_convergence_rule():
    err = np.full((2, 100, 100), 0.002)
    err[1, :9, :9] = 0.5  # seed 1 fails on one-digit × one-digit products only (81 pairs)
    s = m.summarize(err)
    assert s["converged"] == 2  # 81 bad pairs < 10 %: median and p90 still pass
    assert s["error_table_all_seeds"]["1digit_x_1digit"] == pytest.approx((0.002 + 0.5) / 2)
    err[1, :30, :] = 0.5  # 30 % of the pairs bad → p90 fails
    assert m.summarize(err)["converged"] == 1


def test_faithful_loss_decreases_on_a_fixed_seed():
    _, losses = m.train_faithful(m.Config(seeds=2, steps=60, lr=0.01), m.generator(0))
    assert losses[-1] < losses[0]


@pytest.fixture(scope="module")
def reliable():
    cfg = m.Config(seeds=2, hidden_reliable=16, pretrain_steps=300, finetune_steps=60)
    return m.train_reliable(cfg, m.generator(0))


def test_reliable_small_budget_low_error_on_two_digit_pairs(reliable):
    model, losses = reliable
    assert losses[-1] < losses[0]
    x = torch.tensor([20.0, 50.0, 90.0, 64.0], dtype=torch.float64)
    y = torch.tensor([30.0, 60.0, 90.0, 25.0], dtype=torch.float64)
    with torch.no_grad():
        rel = ((model.predict(x, y) - x * y).abs() / (x * y)).numpy()
    assert np.median(rel) <= 0.15  # far from the faithful net's typical 50–90 %


def test_nac_mul_multiplies_the_article_failures():
    model, _ = m.train_nac(m.Config(seeds=3, nac_steps=300), m.generator(0))
    x = torch.tensor([7.0, 17.0], dtype=torch.float64)
    y = torch.tensor([82.0, 2.0], dtype=torch.float64)  # the article got 302 for both
    pred = model.predict(x, y)
    np.testing.assert_allclose(pred.numpy(), np.broadcast_to([574.0, 34.0], (3, 2)), rtol=0.01)


def test_nan_loss_stops_training():
    w = torch.zeros(1, dtype=torch.float64)
    with pytest.raises(TrainingError, match="nan"):
        m._adam([w], lambda: (w * math.nan).sum(), steps=3, lr=0.1)


def test_checkpoint_from_another_family_or_shape_is_refused(tmp_path):
    ctx = ctx_for(tmp_path)
    checkpoint.save(ctx.model_path, family="numpy_net", config={}, state={})
    with pytest.raises(CheckpointError, match="not 'multnet'"):
        m.load_models(m.Config(), ctx)
    cfg = m.Config(variants=("nac_mul",), seeds=2)
    checkpoint.save(ctx.model_path, family="multnet", config={},
                    state={"nac_mul": {"w": torch.ones(5, 2, dtype=torch.float64)}})
    with pytest.raises(CheckpointError, match="does not fit"):
        m.load_models(cfg, ctx)
