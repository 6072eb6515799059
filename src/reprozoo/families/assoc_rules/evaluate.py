"""Evaluate `rules`: re-score every rule mined on the training baskets on the held-out
baskets (does the lift survive?), and count the itemsets on all baskets."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint
from reprozoo.checkpoint import Checkpoint
from reprozoo.context import Context
from reprozoo.data import groceries
from reprozoo.errors import CheckpointError
from reprozoo.io import write_text

from .config import Config
from .model import frequent_itemsets, rule_metrics
from .train import grid_key, itemset_names, rules_table, scatter

RULE_KEYS = ("antecedents", "consequents", "support", "confidence", "lift")


def load_model(path: str | os.PathLike, family: str = "rules") -> tuple[dict[str, Any], Checkpoint[Config]]:
    """The saved rules at `path` (tensors as NumPy arrays) and the checkpoint (items,
    itemsets, counts, the training grid in `.state`)."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    for key in ("items", "n_baskets", "itemsets", "itemset_counts"):
        checkpoint.tensor(ck.state, key, None, path)
    saved = checkpoint.tensor(ck.state, "rules", None, path)
    for key in RULE_KEYS:
        checkpoint.tensor(saved, key, None, path)
    rules = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in saved.items()}
    return rules, ck


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    rules, ck = load_model(ctx.model_path, ctx.name)
    st = ck.state
    items, x, test_mask = groceries.load(ctx.data_dir)
    if list(items) != list(st["items"]):
        raise CheckpointError(f"{ctx.model_path}: item list differs from {ctx.data_dir}; retrain")
    n_rules = len(rules["lift"])
    out: dict[str, Any] = {"itemsets": len(st["itemsets"]), "rules": n_rules,
                           "train_baskets": int(st["n_baskets"]), "test_baskets": int(test_mask.sum()),
                           "itemsets_by_min_support_train": dict(st["itemset_counts"])}
    # Counts on all baskets too, comparable with published Groceries tables.
    out["itemsets_by_min_support_all"] = {
        grid_key(ms): len(frequent_itemsets(x, ms, cfg.model_config().max_len)[0])
        for ms in sorted(set(cfg.support_grid) | {cfg.min_support}, reverse=True)}
    if n_rules == 0:
        return out
    xh = x[test_mask]
    hs, hc, hl = rule_metrics(xh, rules["antecedents"], rules["consequents"])
    top = np.lexsort((np.arange(n_rules), -rules["lift"]))[: cfg.top_k]
    write_text(ctx.report_dir / "top_rules.md",
               rules_table(items, rules, top, {"held-out confidence": hc, "held-out lift": hl}))
    scatter(hs[hs > 0], hc[hs > 0], hl[hs > 0], ctx.report_dir / "rules_scatter_heldout.png",
            f"{int((hs > 0).sum())} of {n_rules} rules seen in held-out baskets")
    seen = hs > 0
    out.update({
        "train_mean_confidence": float(rules["confidence"].mean()),
        "train_mean_lift": float(rules["lift"].mean()),
        "heldout_rules_seen": int(seen.sum()),
        "heldout_mean_confidence": float(hc[seen].mean()) if seen.any() else 0.0,
        "heldout_mean_lift": float(hl[seen].mean()) if seen.any() else 0.0,
        "heldout_share_lift_gt_1": float((hl[seen] > 1).mean()) if seen.any() else 0.0,
        "top_rules_train_lift": float(rules["lift"][top].mean()),
        "top_rules_heldout_lift": float(hl[top].mean()),
        "top_rule": {"antecedent": itemset_names([rules["antecedents"][top[0]]], items)[0],
                     "consequent": itemset_names([rules["consequents"][top[0]]], items)[0],
                     "lift": float(rules["lift"][top[0]])},
    })
    return out
