"""Matrix factorization: the article's update step, low-rank recovery, the MovieLens
prepare contract (bad lines reported with line numbers) and the recommend CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from reprozoo.config import build
from reprozoo.data import movielens
from reprozoo.errors import ConfigError
from reprozoo.families.mf import Config
from reprozoo.families.mf import sgd
from reprozoo.families.mf.model import BiasedMF, ModelConfig, recommend, rmse, sgd_step
from reprozoo.families.mf.train import fit


def test_article_update_step():
    # seed article 004: α=0.1, r=8, r̂=1.6, q₀=1.3 → p₀ = 1.4 becomes 3.064
    p1, q1 = sgd_step(p=1.4, q=1.3, r=8.0, r_hat=1.6, alpha=0.1)
    assert p1 == pytest.approx(3.064, abs=1e-12)
    assert q1 == pytest.approx(1.3 + 2 * 0.1 * 6.4 * 1.4, abs=1e-12)


def test_batch_step_is_the_article_rule_for_one_rating():
    """The vectorized step on a one-rating batch = sgd_step per coordinate (lr = 2α)."""
    g = torch.Generator().manual_seed(0)
    m = BiasedMF(ModelConfig(factors=2, init_std=1.0), 3, 4, mu=0.0, g=g)
    p0, q0 = m.P[1].clone(), m.Q[2].clone()
    r_hat = float(m.predict(torch.tensor([1]), torch.tensor([2]), clip=False))
    alpha, lam = 0.05, 0.1
    m.step(torch.tensor([1]), torch.tensor([2]), torch.tensor([4.0]), lr=2 * alpha, reg=lam)
    for c in range(2):
        p1, q1 = sgd_step(float(p0[c]), float(q0[c]), 4.0, r_hat, alpha, lam)
        assert float(m.P[1, c]) == pytest.approx(p1, abs=1e-6)
        assert float(m.Q[2, c]) == pytest.approx(q1, abs=1e-6)


def test_bias_step_and_l2_can_differ_from_the_factors():
    """lr_b / reg_b move only b_u, b_i: b ← b + lr_b (e − λ_b b); P, Q as without them."""
    g = torch.Generator().manual_seed(1)
    a = BiasedMF(ModelConfig(factors=2, init_std=1.0), 3, 4, mu=3.0, g=g)
    a.bu[1], a.bi[2] = 0.4, -0.2
    b = BiasedMF.from_state({k: v.clone() for k, v in a.state().items()})
    u, i, r = torch.tensor([1]), torch.tensor([2]), torch.tensor([4.0])
    e = float(r - a.predict(u, i, clip=False))
    a.step(u, i, r, lr=0.1, reg=0.2)
    b.step(u, i, r, lr=0.1, reg=0.2, lr_b=0.03, reg_b=0.5)
    assert float(b.bu[1]) == pytest.approx(0.4 + 0.03 * (e - 0.5 * 0.4), abs=1e-6)
    assert float(b.bi[2]) == pytest.approx(-0.2 + 0.03 * (e + 0.5 * 0.2), abs=1e-6)
    assert float(a.bu[1]) == pytest.approx(0.4 + 0.1 * (e - 0.2 * 0.4), abs=1e-6)
    assert torch.equal(a.P, b.P) and torch.equal(a.Q, b.Q)
    with pytest.raises(ConfigError, match="lr_bias = 0.0: must be > 0"):
        build(Config, {"lr_bias": 0.0}, "mf")


def _random_ratings(n: int, n_users: int, n_items: int, seed: int) -> tuple[torch.Tensor, ...]:
    """n distinct (user, item) pairs (as in MovieLens) with ratings 1-5."""
    g = torch.Generator().manual_seed(seed)
    cell = torch.randperm(n_users * n_items, generator=g)[:n]
    return cell // n_items, cell % n_items, torch.randint(1, 6, (n,), generator=g).float()


def test_sparse_step_is_the_gather_step():
    """sgd.step (SDDMM + two CSR products) = BiasedMF.step (gather, index_add_) on a batch
    where users and items repeat, biases with their own α_b, λ_b."""
    U, I, k = 7, 9, 3
    u, i, r = _random_ratings(60, U, I, seed=2)
    ref = BiasedMF(ModelConfig(factors=k, init_std=0.5), U, I, mu=3.2, g=torch.Generator().manual_seed(3))
    ref.bu, ref.bi = torch.linspace(-0.3, 0.3, U), torch.linspace(0.2, -0.2, I)
    A, C = sgd.pack(ref)
    lr, reg, lr_b, reg_b = 0.03, 0.1, 0.02, 0.5
    (b,) = sgd.shuffle(u, i, r - ref.mu, U, I, 64, torch.Generator().manual_seed(0),
                       sgd.presort(u, i, I), sgd.presort(i, u, U))
    sse = sgd.step(A, C, b, sgd.column_rates(k, lr, lr_b, True, A), sgd.column_rates(k, lr, lr_b, False, A),
                   sgd.column_rates(k, lr * reg, lr_b * reg_b, True, A),
                   sgd.column_rates(k, lr * reg, lr_b * reg_b, False, A))
    ref_sse = ref.step(u, i, r, lr, reg, lr_b, reg_b)
    got = sgd.unpack(A, C, BiasedMF.from_state(ref.state()))
    assert float(sse) == pytest.approx(ref_sse, rel=1e-5)
    for key in ("bu", "bi", "P", "Q"):
        torch.testing.assert_close(getattr(got, key), getattr(ref, key), rtol=1e-5, atol=1e-6)
    assert torch.equal(A[:, 1], torch.ones(U)) and torch.equal(C[:, 0], torch.ones(I))


def test_shuffle_partitions_the_ratings_into_valid_csr_batches():
    U, I = 12, 10
    u, i, r = _random_ratings(103, U, I, seed=4)
    batches = sgd.shuffle(u, i, r, U, I, 25, torch.Generator().manual_seed(1),
                          sgd.presort(u, i, I), sgd.presort(i, u, U))
    assert [len(b.items) for b in batches] == [25, 25, 25, 25, 3]
    seen = []
    for b in batches:
        with torch.sparse.check_sparse_tensor_invariants():  # sorted, in range, consistent
            by_user = torch.sparse_csr_tensor(b.user_rows, b.items, b.target, (U, I))
            by_item = torch.sparse_csr_tensor(b.item_rows, b.users, b.target[b.to_item_order], (I, U))
        torch.testing.assert_close(by_item.to_dense(), by_user.to_dense().T)  # the same ratings
        assert torch.equal(b.n_user[:, 0], b.user_rows.diff().float())
        users = torch.repeat_interleave(torch.arange(U), b.user_rows.diff())
        seen += list(zip(users.tolist(), b.items.tolist(), b.target.tolist()))
    assert sorted(seen) == sorted(zip(u.tolist(), i.tolist(), r.tolist()))  # each rating once


def test_fit_is_bit_reproducible():
    U, I = 40, 30
    tr = _random_ratings(900, U, I, seed=5)
    cfg = Config(factors=4, epochs=3, batch_size=128)
    a, b = fit(cfg, U, I, tr, None, seed=7), fit(cfg, U, I, tr, None, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a.state().values(), b.state().values()))
    c = fit(cfg, U, I, tr, None, seed=8)
    assert not torch.equal(a.P, c.P)


def test_recovers_fully_observed_low_rank_matrix():
    rng = np.random.default_rng(0)
    U, I, k = 30, 20, 2
    R = 3.0 + rng.uniform(-0.7, 0.7, (U, k)) @ rng.uniform(-0.7, 0.7, (k, I))  # ratings in (2, 4)
    u, i = np.meshgrid(np.arange(U), np.arange(I), indexing="ij")
    tr = (torch.from_numpy(u.ravel()), torch.from_numpy(i.ravel()), torch.from_numpy(R.ravel()).float())
    cfg = Config(factors=k, epochs=300, batch_size=32, lr=0.05, lr_decay=1.0, reg=0.0, init_std=0.3)
    model = fit(cfg, U, I, tr, None, seed=0)
    start = float(((tr[2] - tr[2].mean()) ** 2).mean().sqrt())
    assert rmse(model, *tr) < 0.01 < start / 10


def _write_raw(tmp: Path, lines: list[str]) -> Path:
    raw = tmp / "raw"
    raw.mkdir()
    (raw / "u.data").write_text("\n".join(lines) + "\n", encoding="latin-1")
    (raw / "u.item").write_text("".join(f"{m}|Movie {m} (1995)|01-Jan-1995||http://x|0\n" for m in range(1, 6)),
                                encoding="latin-1")
    (raw / "u.user").write_text("".join(f"{u}|20|M|student|00000\n" for u in range(1, 5)), encoding="latin-1")
    return raw


GOOD = [f"{u}\t{i}\t{(u + i) % 5 + 1}\t88125094{u}" for u in range(1, 5) for i in range(1, 6)]


def test_malformed_and_out_of_range_lines_are_reported_with_line_numbers(tmp_path, capsys):
    lines = GOOD[:3] + ["1\t4\tfour\t881250949", "2\t3\t7\t881250949", "3\t1", "9\t1\t3\t0"] + GOOD[3:]
    raw = _write_raw(tmp_path, lines)
    out = tmp_path / "out"
    out.mkdir()
    stats = movielens.prepare(movielens.Config(n_folds=2), raw, out, seed=0)
    bad = {b["line"]: b["reason"] for b in stats["bad_lines"]}
    assert set(bad) == {4, 5, 6, 7}
    assert "outside 1-5" in bad[5] and "not in u.user" in bad[7]
    assert stats["n_ratings"] == len(GOOD) and stats["n_bad_lines"] == 4
    assert np.load(out / "rating.npy").max() <= 5
    err = capsys.readouterr().err
    assert "u.data: skipped 1 line(s) (rating 7 outside 1-5): lines 5" in err
    assert len(err.strip().splitlines()) == 4  # one summary line per reason, not one per line


def test_prepare_is_independent_of_line_order(tmp_path):
    outs = []
    for n, lines in enumerate((GOOD, GOOD[::-1])):
        d = tmp_path / str(n)
        d.mkdir()
        raw = _write_raw(d, lines)
        (d / "out").mkdir()
        movielens.prepare(movielens.Config(n_folds=2), raw, d / "out", seed=3)
        outs.append(movielens.load(d / "out"))
    for key in ("user", "item", "rating", "fold", "test", "user_ids", "titles"):
        assert np.array_equal(np.asarray(outs[0][key]), np.asarray(outs[1][key])), key


def test_recommend_excludes_rated_items():
    g = torch.Generator().manual_seed(0)
    m = BiasedMF(ModelConfig(factors=2, init_std=1.0), 2, 6, mu=3.0, g=g)
    m.bi = torch.arange(6, dtype=torch.float32) * 0.1  # item 5 is best, then 4, ...
    recs = recommend(m, 0, np.array([5, 3]), k=10)
    items = [j for j, _ in recs]
    assert len(items) == 4 and 5 not in items and 3 not in items
    assert all(a >= b for (_, a), (_, b) in zip(recs, recs[1:]))


def test_recommend_cli_unknown_user(tmp_path, capsys):
    from reprozoo.cli import main

    raw = _write_raw(tmp_path, GOOD)
    out = tmp_path / "out"
    out.mkdir()
    movielens.prepare(movielens.Config(n_folds=2), raw, out, seed=0)
    assert main(["recommend", "--user", "42", "--data", str(out), "--model", str(tmp_path / "none.pt")]) == 1
    err = capsys.readouterr().err
    assert "unknown user id 42" in err and "ids 1..4" in err


def test_recommend_cli_prints_titles(tmp_path, capsys):
    from reprozoo import checkpoint
    from reprozoo.cli import main

    raw = _write_raw(tmp_path, GOOD[:-2])  # user 4 has not rated movies 4 and 5
    out = tmp_path / "out"
    out.mkdir()
    movielens.prepare(movielens.Config(n_folds=2), raw, out, seed=0)
    d = movielens.load(out)
    cfg = Config(factors=2, epochs=5)
    model = fit(cfg, 4, 5, (torch.from_numpy(d["user"]), torch.from_numpy(d["item"]),
                               torch.from_numpy(d["rating"])), None, seed=0)
    ckpt = checkpoint.save(tmp_path / "model.pt", family="mf", config=cfg, state=model.state())
    assert main(["recommend", "--user", "4", "-k", "5", "--data", str(out), "--model", str(ckpt)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("user 4: 3 movies rated") and len(lines) == 3
    assert {ln.split("  ")[-1] for ln in lines[1:]} == {"Movie 4 (1995)", "Movie 5 (1995)"}
    assert all(1.0 <= float(ln.split()[1]) <= 5.0 for ln in lines[1:])
    assert not math.isnan(float(lines[1].split()[1]))
