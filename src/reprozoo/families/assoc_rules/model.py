"""Association analysis: support, confidence, lift and Apriori (seed article 004).

Two Apriori implementations with one meaning:

- `apriori_walkthrough`: the article's step-by-step version on Python sets. Each level k
  joins pairs of frequent (k-1)-itemsets whose union has k items (C_k before pruning),
  drops candidates with an infrequent (k-1)-subset (the Apriori property), counts the
  rest (C_k) and keeps those with count >= min_count (L_k). For teaching and tests.
- `frequent_itemsets`: the fast path for real data. Every item's baskets are a bitset
  (uint64 words); level k joins (k-1)-itemsets that share their first k-2 items (rows of
  a lexicographically sorted integer array, all pairs built at once with NumPy), prunes
  with the same subset check on integer keys, and counts a candidate as the popcount of
  the AND of its two parents' bitsets. The result (itemsets, supports) is identical to
  `mlxtend.frequent_patterns.apriori` and `fpgrowth` (tests/test_assoc.py;
  benchmarks/assoc_rules.py for the speed).

Rules X→Y come from mlxtend's `association_rules` on those itemsets; `rules_dict` puts
them in a deterministic order and `rule_metrics` re-counts them on other baskets.

Notation (article): σ(X) = number of transactions containing X, M = number of
transactions, support s(X) = σ(X)/M, confidence c(X→Y) = σ(X∪Y)/σ(X), lift(X→Y) =
c(X→Y)/s(Y).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

Itemset = frozenset


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    min_support: float     # itemsets kept: σ/N >= this
    min_confidence: float  # rules kept: confidence >= this
    max_len: int | None    # longest itemset mined (None = no limit)


# ------------------------------------------------------------------ definitions
def support_count(transactions: Sequence[Collection[Any]], itemset: Iterable[Any]) -> int:
    """σ(X): how many transactions contain every item of X."""
    x = set(itemset)
    return sum(1 for t in transactions if x <= set(t))


def support(transactions: Sequence[Collection[Any]], itemset: Iterable[Any]) -> float:
    """s(X) = σ(X) / M."""
    return support_count(transactions, itemset) / len(transactions)


def confidence(transactions: Sequence[Collection[Any]], antecedent: Iterable[Any],
               consequent: Iterable[Any]) -> float:
    """c(X→Y) = σ(X∪Y) / σ(X)."""
    x, y = set(antecedent), set(consequent)
    return support_count(transactions, x | y) / support_count(transactions, x)


def lift(transactions: Sequence[Collection[Any]], antecedent: Iterable[Any],
         consequent: Iterable[Any]) -> float:
    """lift(X→Y) = c(X→Y) / s(Y): > 1 when X and Y occur together more than by chance."""
    return confidence(transactions, antecedent, consequent) / support(transactions, consequent)


# ------------------------------------------------------------------ the article's walk-through
def apriori_walkthrough(transactions: Sequence[Collection[Any]], min_count: int,
                        max_len: int | None = None) -> list[dict[str, Any]]:
    """Apriori level by level, keeping every intermediate set (the article's figure).

    Returns one dict per level k = 1, 2, ...:
      joined  candidates from unions of two L_{k-1} itemsets (k = 1: all single items)
      pruned  the joined candidates dropped because a (k-1)-subset is not in L_{k-1}
      C       {candidate: σ} for the candidates that survived pruning (C_k)
      L       {itemset: σ} with σ >= min_count (L_k)
    It stops after the first level whose C is empty or whose L is empty.
    """
    tsets = [frozenset(t) for t in transactions]

    def count(cands: Iterable[frozenset]) -> dict[frozenset, int]:
        return {c: sum(1 for t in tsets if c <= t) for c in sorted(cands, key=_order)}

    items = sorted({i for t in tsets for i in t}, key=repr)
    joined = [frozenset([i]) for i in items]
    levels: list[dict[str, Any]] = []
    k, prev_l = 1, {}
    while True:
        if k == 1:
            pruned: list[frozenset] = []
            kept = joined
        else:
            pruned = [c for c in joined if any(frozenset(s) not in prev_l for s in combinations(c, k - 1))]
            kept = [c for c in joined if c not in set(pruned)]
        c_k = count(kept)
        l_k = {c: n for c, n in c_k.items() if n >= min_count}
        levels.append({"k": k, "joined": joined, "pruned": pruned, "C": c_k, "L": l_k})
        if not l_k or (max_len is not None and k >= max_len):
            return levels
        prev_l, k = l_k, k + 1
        unions = {a | b for a, b in combinations(list(l_k), 2) if len(a | b) == k}
        joined = sorted(unions, key=_order)
        if not joined:
            return levels


def _order(s: frozenset) -> tuple:
    return tuple(sorted(s, key=repr))


# ------------------------------------------------------------------ fast path (bitsets)
def _bitsets(x: np.ndarray) -> np.ndarray:
    """(M, W) uint64: bit t of row j is set when basket t holds item j."""
    packed = np.packbits(np.ascontiguousarray(x.T), axis=1)  # (M, ceil(N/8)) uint8
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)     # (M, W)


def _popcount_and(a: np.ndarray, b: np.ndarray, rows_i: np.ndarray, rows_j: np.ndarray,
                  chunk_words: int = 1 << 18) -> np.ndarray:
    """σ of each candidate = popcount(a[i] & b[j]), in chunks: 2 MiB temporaries stay in
    cache (32 MiB ones made this ~10× slower on a 2-core laptop)."""
    out = np.empty(len(rows_i), dtype=np.int64)
    step = max(1, chunk_words // max(1, a.shape[1]))
    for s in range(0, len(rows_i), step):
        i, j = rows_i[s:s + step], rows_j[s:s + step]
        out[s:s + step] = np.bitwise_count(a[i] & b[j]).sum(axis=1, dtype=np.int64)
    return out


def _keys(rows: np.ndarray, m: int) -> np.ndarray | None:
    """Integer key of each sorted itemset row (base m digits), or None on overflow risk."""
    if m ** rows.shape[1] >= 2 ** 62:
        return None
    keys = np.zeros(len(rows), dtype=np.int64)
    for col in range(rows.shape[1]):
        keys = keys * m + rows[:, col]
    return keys


def _in_level(sub: np.ndarray, level: np.ndarray, m: int) -> np.ndarray:
    """Which rows of `sub` (C, k) are rows of `level` (L, k); both hold sorted item ids."""
    ks, kl = _keys(sub, m), _keys(level, m)
    if ks is None or kl is None:
        known = {tuple(r) for r in level.tolist()}
        return np.fromiter((tuple(r) in known for r in sub.tolist()), dtype=bool, count=len(sub))
    return np.isin(ks, kl)


def frequent_itemsets(x: np.ndarray, min_support: float,
                      max_len: int | None = None) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """All itemsets with support >= min_support in the one-hot baskets `x` (N, M).

    Returns (itemsets as sorted tuples of column indices, level by level and
    lexicographic within a level; their counts σ as int64). A support is σ/N compared
    with `>= min_support` in float64 exactly as mlxtend does, so both keep the same sets.
    """
    x = np.asarray(x, dtype=bool)
    n, m = x.shape
    if n == 0:
        return [], np.zeros(0, dtype=np.int64)
    bits = _bitsets(x)                                     # (M, W)
    counts = x.sum(axis=0, dtype=np.int64)
    keep = counts / n >= min_support
    level = np.flatnonzero(keep).astype(np.int64)[:, None]  # (L, 1) item ids, sorted
    level_bits, level_counts = bits[keep], counts[keep]
    out_sets: list[tuple[int, ...]] = [tuple(r) for r in level.tolist()]
    out_counts = [level_counts]
    k = 1
    while len(level) > 1 and (max_len is None or k < max_len):
        # Join: rows i < j sharing their first k-1 items (contiguous runs of the sorted level).
        if k == 1:
            group_end = np.full(len(level), len(level))
        else:
            new_group = np.r_[True, np.any(level[1:, :-1] != level[:-1, :-1], axis=1)]
            starts = np.flatnonzero(new_group)
            ends = np.r_[starts[1:], len(level)]
            group_end = np.repeat(ends, ends - starts)
        partners = group_end - np.arange(len(level)) - 1    # j runs over i+1 .. end-1
        ii = np.repeat(np.arange(len(level)), partners)
        offset = np.arange(len(ii)) - np.repeat(np.cumsum(partners) - partners, partners)
        jj = ii + 1 + offset
        if len(ii) == 0:
            break
        cand = np.concatenate([level[ii], level[jj, -1:]], axis=1)  # (C, k+1), lexicographic
        # Prune: every k-subset must be frequent; dropping item k or k-1 gives the parents.
        ok = np.ones(len(cand), dtype=bool)
        for drop in range(k - 1):
            sub = np.delete(cand[ok], drop, axis=1)
            ok[np.flatnonzero(ok)[~_in_level(sub, level, m)]] = False
        ii, jj, cand = ii[ok], jj[ok], cand[ok]
        cand_counts = _popcount_and(level_bits, level_bits, ii, jj)
        freq = cand_counts / n >= min_support
        if not freq.any():
            break
        level = cand[freq]
        level_bits = level_bits[ii[freq]] & level_bits[jj[freq]]
        level_counts = cand_counts[freq]
        out_sets += [tuple(r) for r in level.tolist()]
        out_counts.append(level_counts)
        k += 1
    return out_sets, np.concatenate(out_counts)


def itemsets_frame(itemsets: Sequence[tuple[int, ...]], counts: np.ndarray, n: int,
                   names: Sequence[str] | None = None) -> Any:
    """The mlxtend frame (columns `support`, `itemsets` of frozensets) for association_rules."""
    import pandas as pd

    label = (lambda i: names[i]) if names is not None else int
    return pd.DataFrame({"support": np.asarray(counts, dtype=np.int64) / n,
                         "itemsets": [frozenset(label(i) for i in s) for s in itemsets]})


def mine(x: np.ndarray, min_support: float, names: Sequence[str] | None = None,
         max_len: int | None = None) -> Any:
    """Fast-path frequent itemsets as an mlxtend-style DataFrame."""
    sets, counts = frequent_itemsets(x, min_support, max_len)
    return itemsets_frame(sets, counts, len(x), names)


def canonical(frame: Any) -> list[tuple[tuple, float]]:
    """A frame of itemsets as a sorted list of (sorted itemset, support) for comparisons."""
    rows = [(tuple(sorted(s, key=repr)), float(v)) for s, v in zip(frame["itemsets"], frame["support"])]
    return sorted(rows, key=lambda r: (len(r[0]), [repr(i) for i in r[0]]))


def itemset_counts(x: np.ndarray, itemsets: Sequence[Sequence[int]]) -> np.ndarray:
    """σ of each given itemset (column indices) in the baskets `x` (N, M), via bitsets."""
    x = np.asarray(x, dtype=bool)
    n, m = x.shape
    if not len(itemsets):
        return np.zeros(0, dtype=np.int64)
    bits = _bitsets(x)
    full_bits = np.packbits(np.ones(n, dtype=bool))
    ones = np.zeros(bits.shape[1] * 8, dtype=np.uint8)
    ones[: len(full_bits)] = full_bits
    bits = np.vstack([bits, ones.view(np.uint64)[None]])   # row m = every basket (padding)
    width = max(len(s) for s in itemsets)
    idx = np.full((len(itemsets), width), m, dtype=np.int64)  # (R, width), padded with m
    for r, s in enumerate(itemsets):
        idx[r, : len(s)] = s
    out = np.empty(len(itemsets), dtype=np.int64)
    step = max(1, (1 << 18) // bits.shape[1])
    for s in range(0, len(idx), step):
        acc = bits[idx[s:s + step, 0]]
        for col in range(1, width):
            acc = acc & bits[idx[s:s + step, col]]
        out[s:s + step] = np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
    return out


def rule_metrics(x: np.ndarray, antecedents: Sequence[Sequence[int]],
                 consequents: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(support, confidence, lift) of rules A→C re-counted in the baskets `x`.

    A rule whose antecedent (or consequent) never occurs in `x` gets confidence (lift) 0.
    """
    n = len(x)
    both = itemset_counts(x, [list(a) + list(c) for a, c in zip(antecedents, consequents)])
    sa = itemset_counts(x, antecedents)
    sc = itemset_counts(x, consequents)
    conf = np.divide(both, sa, out=np.zeros(len(both)), where=sa > 0)
    lift = np.divide(conf * n, sc, out=np.zeros(len(both)), where=sc > 0)
    return both / n, conf, lift


# ------------------------------------------------------------------ rules
def rules_dict(rdf: Any) -> dict[str, Any]:
    """mlxtend's rules frame → plain lists/arrays, in a deterministic order."""
    if rdf is None or len(rdf) == 0:
        empty = np.zeros(0)
        return {"antecedents": [], "consequents": [], "support": empty, "confidence": empty, "lift": empty}
    ante = [sorted(int(i) for i in a) for a in rdf["antecedents"]]
    cons = [sorted(int(i) for i in c) for c in rdf["consequents"]]
    order = sorted(range(len(ante)), key=lambda r: (ante[r], cons[r]))
    return {"antecedents": [ante[r] for r in order], "consequents": [cons[r] for r in order],
            **{c: rdf[c].to_numpy(dtype=np.float64)[order] for c in ("support", "confidence", "lift")}}
