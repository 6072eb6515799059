"""Association rules on the Groceries baskets: Apriori itemsets → rules by support,
confidence and lift (family `rules`).

Source: seed article 004 (support σ(X)/M, confidence, lift, the Apriori property) and
Agrawal & Srikant, "Fast Algorithms for Mining Association Rules" (VLDB 1994). Frequent
itemsets come from the bitset Apriori in model.py (identical to mlxtend's
`apriori`/`fpgrowth`, and faster: `python benchmarks/assoc_rules.py`); rules come from
mlxtend's `association_rules`. The "model" is the itemsets and rules mined on the
training baskets; `evaluate` re-scores every rule on the held-out baskets (does the lift
survive?) and counts the itemsets on all baskets over a support grid, comparable with
the published Groceries tables (arules, mlxtend).

Results: reports/README.md, row rules (`dvc repro evaluate@rules`); the tables
top_rules.md and itemset_counts.md beside its figures.

    config.py    Config (params.yaml section `rules`) and its ModelConfig
    model.py     support/confidence/lift, the article's Apriori walk-through, the bitset
                 Apriori, rule re-counting
    train.py     mine itemsets and rules on the training baskets, tables and figures
    evaluate.py  load_model, the held-out re-scoring
"""

from .config import Config

__all__ = ["Config"]
