"""Train `rules`: mine the frequent itemsets of the training baskets (bitset Apriori),
derive the rules (mlxtend), and save both with the itemset counts over a support grid."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from reprozoo import checkpoint, plots, progress
from reprozoo.context import Context
from reprozoo.data import groceries
from reprozoo.io import write_text

from .config import Config
from .model import frequent_itemsets, itemsets_frame, rules_dict


def grid_key(ms: float) -> str:
    """The metrics key of a support-grid entry: 0.001 → min_support_0p001."""
    return "min_support_" + f"{ms:g}".replace(".", "p")


def itemset_names(sets: list[list[int]], items: list[str]) -> list[str]:
    """Itemsets of item ids as "{a, b}" strings of item names."""
    return ["{" + ", ".join(items[i] for i in s) + "}" for s in sets]


def rules_table(items: list[str], rules: dict[str, Any], order: np.ndarray,
                extra: dict[str, np.ndarray] | None = None) -> str:
    """Markdown table of the rules at `order` (indices into `rules`)."""
    cols = ["support", "confidence", "lift"]
    head = ["#", "antecedent", "consequent", *cols, *(extra or {})]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rank, r in enumerate(order, 1):
        vals = [f"{float(rules[c][r]):.4f}" for c in cols]
        vals += [f"{float(v[r]):.4f}" for v in (extra or {}).values()]
        ante = itemset_names([rules["antecedents"][r]], items)[0]
        cons = itemset_names([rules["consequents"][r]], items)[0]
        lines.append(f"| {rank} | {ante} | {cons} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def scatter(support: np.ndarray, conf: np.ndarray, lift: np.ndarray, path: Any, title: str) -> None:
    """Rules as points (support, confidence) coloured by lift."""
    fig, ax = plots.figure(figsize=(6, 4.5))
    order = np.argsort(lift, kind="stable")  # high lift drawn on top
    sc = ax.scatter(support[order], conf[order], c=lift[order], cmap="viridis", s=8)
    fig.colorbar(sc, ax=ax, label="lift")
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())  # minor log labels overlap
    ax.set_xlabel("support")
    ax.set_ylabel("confidence")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    plots.savefig(fig, path)


def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    from mlxtend.frequent_patterns import association_rules

    items, x, test_mask = groceries.load(ctx.data_dir)
    xt = x[~test_mask]
    n = len(xt)
    mc = cfg.model_config()
    t0 = time.perf_counter()
    sets, counts = frequent_itemsets(xt, mc.min_support, mc.max_len)
    mine_s = time.perf_counter() - t0
    frame = itemsets_frame(sets, counts, n)  # columns = item ids, mapped back below
    t0 = time.perf_counter()
    rdf = association_rules(frame, num_itemsets=n, metric="confidence",
                            min_threshold=mc.min_confidence) if len(frame) else None
    rules_s = time.perf_counter() - t0
    ctx.tracker.log_metrics({"mining_seconds": mine_s, "rules_seconds": rules_s})
    rules = rules_dict(rdf)
    # Itemset counts per level (a "learning curve" over k) and over the support grid.
    sizes = np.array([len(s) for s in sets])
    for k in range(1, int(sizes.max(initial=0)) + 1):
        ctx.log_step(k, itemsets=int((sizes == k).sum()))
    grid = {}
    supports = sorted(set(cfg.support_grid) | {cfg.min_support}, reverse=True)
    for ms in progress.track(supports, total=len(supports), desc=f"{ctx.name} support grid", unit="level"):
        grid[grid_key(ms)] = len(frequent_itemsets(xt, ms, mc.max_len)[0])
    lines = ["| min_support | itemsets |", "|---|---|"]
    lines += [f"| {k.removeprefix('min_support_').replace('p', '.')} | {v} |" for k, v in grid.items()]
    write_text(ctx.report_dir / "itemset_counts.md", "\n".join(lines) + "\n")
    if len(rules["lift"]):
        top = np.lexsort((np.arange(len(rules["lift"])), -rules["lift"]))[: cfg.top_k]
        write_text(ctx.report_dir / "top_rules.md", rules_table(items, rules, top))
        scatter(rules["support"], rules["confidence"], rules["lift"],
                ctx.report_dir / "rules_scatter.png", f"{len(rules['lift'])} rules (training baskets)")
    state = {"items": list(items), "n_baskets": n,
             "itemsets": [list(s) for s in sets], "counts": torch.from_numpy(counts),
             "rules": {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                       for k, v in rules.items()},
             "itemset_counts": grid}
    checkpoint.save(ctx.model_path, family=ctx.name, config=cfg, state=state)
    return {"itemsets": len(sets), "rules": len(rules["lift"]), "train_baskets": n}
