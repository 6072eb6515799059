"""Association rules: the article's numbers, the Apriori walk-through, and our fast path
against mlxtend on the real Groceries baskets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reprozoo.families.assoc_rules import model as assoc
from reprozoo.data import groceries

RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "groceries" / "groceries.csv"
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data" / "groceries" / "groceries.csv"

TOY = [{"X", "Y"}, {"X", "Z"}, {"X", "Y", "Z", "W"}]           # article: σ(X)=3, σ(X∪Y)=2, M=3
CLASSIC = [{1, 3, 4}, {2, 3, 5}, {1, 2, 3, 5}, {2, 5}]       # the Apriori figure, min count 2


def fs(*items):
    return frozenset(items)


def test_article_toy_support_confidence_lift():
    assert len(TOY) == 3                                     # M
    assert assoc.support_count(TOY, {"X"}) == 3
    assert assoc.support_count(TOY, {"X", "Y"}) == 2
    assert assoc.support(TOY, {"X", "Y"}) == pytest.approx(2 / 3)
    assert assoc.confidence(TOY, {"X"}, {"Y"}) == pytest.approx(2 / 3)
    assert assoc.confidence(TOY, {"Y"}, {"X"}) == pytest.approx(1.0)
    assert assoc.lift(TOY, {"X"}, {"Y"}) == pytest.approx((2 / 3) / (2 / 3))  # X is in every basket


def test_apriori_walkthrough_intermediate_sets():
    levels = assoc.apriori_walkthrough(CLASSIC, min_count=2)
    c1, c2, c3 = (lv["C"] for lv in levels)
    l1, l2, l3 = (lv["L"] for lv in levels)
    assert c1 == {fs(1): 2, fs(2): 3, fs(3): 3, fs(4): 1, fs(5): 3}
    assert l1 == {fs(1): 2, fs(2): 3, fs(3): 3, fs(5): 3}      # {4} seen once: dropped
    assert c2 == {fs(1, 2): 1, fs(1, 3): 2, fs(1, 5): 1, fs(2, 3): 2, fs(2, 5): 3, fs(3, 5): 2}
    assert l2 == {fs(1, 3): 2, fs(2, 3): 2, fs(2, 5): 3, fs(3, 5): 2}
    # Join gives {1,2,3}, {1,3,5}, {2,3,5}; subset pruning removes the first two
    # ({1,2} and {1,5} are not in L2) before any counting.
    assert set(levels[2]["joined"]) == {fs(1, 2, 3), fs(1, 3, 5), fs(2, 3, 5)}
    assert set(levels[2]["pruned"]) == {fs(1, 2, 3), fs(1, 3, 5)}
    assert c3 == {fs(2, 3, 5): 2} and l3 == {fs(2, 3, 5): 2}
    assert len(levels) == 3


def test_fast_path_matches_walkthrough_on_classic():
    x = np.array([[i in t for i in range(1, 6)] for t in CLASSIC])
    sets, counts = assoc.frequent_itemsets(x, min_support=2 / 4)
    got = {frozenset(i + 1 for i in s): int(c) for s, c in zip(sets, counts)}
    want = {}
    for lv in assoc.apriori_walkthrough(CLASSIC, min_count=2):
        want.update(lv["L"])
    assert got == want


def test_fast_path_random_baskets_match_mlxtend():
    from mlxtend.frequent_patterns import apriori

    rng = np.random.default_rng(0)
    x = rng.random((300, 12)) < np.linspace(0.05, 0.6, 12)
    df = pd.DataFrame(x, columns=[f"i{j:02d}" for j in range(12)])
    ours = assoc.mine(x, 0.03, list(df.columns))
    assert assoc.canonical(ours) == assoc.canonical(apriori(df, 0.03, use_colnames=True))
    limited = assoc.mine(x, 0.03, list(df.columns), max_len=2)
    assert assoc.canonical(limited) == assoc.canonical(apriori(df, 0.03, use_colnames=True, max_len=2))


# ------------------------------------------------------------------ real Groceries
@pytest.fixture(scope="module")
def baskets(tmp_path_factory):
    raw = RAW if RAW.exists() else MIRROR
    if not raw.exists():
        pytest.skip("Groceries raw data not fetched (python pipelines/fetch.py groceries)")
    out = tmp_path_factory.mktemp("groceries")
    raw_dir = out / "raw"
    raw_dir.mkdir()
    (raw_dir / "groceries.csv").write_bytes(raw.read_bytes())
    stats = groceries.prepare(groceries.Config(test_fraction=0.2), raw_dir, out / "p", seed=0)
    items, x, mask = groceries.load(out / "p")
    return stats, items, x, mask


def test_groceries_contract(baskets):
    stats, items, x, mask = baskets
    assert x.shape == (9835, 169) and x.dtype == bool           # arules: 9,835 × 169
    assert items == sorted(items) and len(set(items)) == 169
    assert int(x.sum()) == 43367                                  # arules summary: 43,367 items
    assert mask.dtype == bool and 0.18 < mask.mean() < 0.22
    assert stats["skipped_empty_lines"] == 0


def test_ours_equals_apriori_and_fpgrowth_on_groceries(baskets):
    from mlxtend.frequent_patterns import apriori, fpgrowth

    _, items, x, _ = baskets
    df = pd.DataFrame(x, columns=items)
    ours = assoc.canonical(assoc.mine(x, 0.005, items))
    ap = assoc.canonical(apriori(df, 0.005, use_colnames=True))
    fp = assoc.canonical(fpgrowth(df, 0.005, use_colnames=True))
    assert len(ours) == 1001
    assert ours == ap == fp                                      # same itemsets, same supports


def test_rule_metrics_match_mlxtend(baskets):
    from mlxtend.frequent_patterns import association_rules

    _, items, x, _ = baskets
    frame = assoc.mine(x, 0.005)
    rules = association_rules(frame, num_itemsets=len(x), metric="confidence", min_threshold=0.3)
    s, c, lift = assoc.rule_metrics(x, [sorted(a) for a in rules["antecedents"]],
                                    [sorted(b) for b in rules["consequents"]])
    np.testing.assert_allclose(s, rules["support"], rtol=1e-12)
    np.testing.assert_allclose(c, rules["confidence"], rtol=1e-12)
    np.testing.assert_allclose(lift, rules["lift"], rtol=1e-12)


def test_empty_basket_lines_skipped_and_counted(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "groceries.csv").write_text("milk,bread\n\n  \nbread, butter ,bread\n,,\neggs\n",
                                       encoding="utf-8")
    stats = groceries.prepare(groceries.Config(test_fraction=0.0), raw, tmp_path / "p", seed=0)
    assert stats["skipped_empty_lines"] == 3
    assert stats["skipped_empty_line_numbers"] == [2, 3, 5]
    assert stats["duplicate_items_dropped"] == 1
    items, x, mask = groceries.load(tmp_path / "p")
    assert items == ["bread", "butter", "eggs", "milk"]
    assert x.tolist() == [[True, False, False, True], [True, True, False, False],
                          [False, False, True, False]]
    assert not mask.any()


def test_only_empty_lines_is_a_clear_error(tmp_path):
    from reprozoo.errors import DataError

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "groceries.csv").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no basket"):
        groceries.prepare(groceries.Config(), raw, tmp_path / "p", seed=0)
