"""Frequent-itemset mining on Groceries: mlxtend apriori vs mlxtend fpgrowth vs our bitset
Apriori (`frequent_itemsets` in reprozoo.families.assoc_rules.model), at several
min_support values.

Records wall time (best of `--repeats`, mlxtend apriori once at the lowest threshold),
peak traced memory (tracemalloc, NumPy buffers included; a separate run so tracing does
not slow the timed one), the itemset count and whether all three outputs are identical
(same itemsets, same supports). Input: data/processed/groceries (prepare stage), all
9,835 baskets. Writes reports/bench/assoc_rules.json.

usage: python benchmarks/assoc_rules.py [--supports 0.01 0.005 0.002 0.001] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/processed/groceries")
    ap.add_argument("--supports", type=float, nargs="+", default=[0.01, 0.005, 0.002, 0.001])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import pandas as pd
    from mlxtend.frequent_patterns import apriori, fpgrowth

    from reprozoo.families.assoc_rules import model as assoc
    from reprozoo.bench import write_result
    from reprozoo.data import groceries

    items, x, _ = groceries.load(Path(args.data))
    df = pd.DataFrame(x, columns=items)
    methods = {
        "mlxtend_apriori": lambda ms: apriori(df, ms, use_colnames=True),
        "mlxtend_fpgrowth": lambda ms: fpgrowth(df, ms, use_colnames=True),
        "ours_bitset_apriori": lambda ms: assoc.mine(x, ms, items),
    }
    results = {"baskets": int(x.shape[0]), "items": int(x.shape[1]), "by_min_support": {}}
    for ms in args.supports:
        row: dict = {}
        outputs = {}
        for name, fn in methods.items():
            reps = 1 if name == "mlxtend_apriori" and ms <= 0.002 else args.repeats
            seconds, frame = timed(lambda: fn(ms), reps)
            outputs[name] = assoc.canonical(frame)
            row[name] = {"seconds": round(seconds, 4),
                         "itemsets_per_s": round(len(frame) / seconds, 1),
                         "peak_mib": round(peak_mib(lambda: fn(ms)), 2),
                         "itemsets": len(frame)}
            print(f"min_support={ms}: {name}: {seconds:.3f} s, {len(frame)} itemsets", file=sys.stderr)
        ours = outputs["ours_bitset_apriori"]
        row["identical_output"] = all(o == ours for o in outputs.values())
        row["speedup_vs_apriori"] = round(row["mlxtend_apriori"]["seconds"] / row["ours_bitset_apriori"]["seconds"], 1)
        row["speedup_vs_fpgrowth"] = round(row["mlxtend_fpgrowth"]["seconds"] / row["ours_bitset_apriori"]["seconds"], 1)
        results["by_min_support"][f"{ms:g}"] = row
    results["all_identical"] = all(r["identical_output"] for r in results["by_min_support"].values())
    results["min_speedup_vs_apriori"] = min(r["speedup_vs_apriori"] for r in results["by_min_support"].values())
    write_result("assoc_rules", results)


if __name__ == "__main__":
    main()
