"""Funk-SVD 5-fold RMSE around the default config (issue 5 §1, target ≤ 0.905).

Each row is the `mf` params entry with the overrides below, trained on the same five
folds and seeds as the evaluate stage's protocol (`cross_validate` in
src/reprozoo/families/mf/evaluate.py), one CPU thread per row so the numbers reproduce
exactly on CPU; rows run in `--workers` processes.
Writes reports/bench/mf_sweep.json (mean and per-fold RMSE, seconds per row).

usage: python benchmarks/mf_sweep.py [--workers 2] [--only N ...]   (N = row index)
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROWS: list[dict] = [
    {},                                                     # params.yaml as it stands
    {"lr_bias": None, "reg_bias": None},                    # session-3 default: biases share α and λ
    {"epochs": 40, "lr_decay": 0.93, "reg": 0.08,           # the session-1 default
     "lr_bias": None, "reg_bias": None},
    {"lr_bias": None},                                      # own λ_b only
    {"reg_bias": None},                                     # own α_b only
    {"reg_bias": 0.0},                                      # no L2 on the biases
    {"reg_bias": 0.05},
    {"lr_bias": 0.005},
    {"reg": 0.08},
    {"reg": 0.10},
    {"lr": 0.015, "lr_bias": 0.0075},
    {"factors": 300},
    {"epochs": 60, "lr_decay": 0.96},                       # longer, slower decay
    {"batch_size": 1024, "lr": 0.01, "lr_bias": 0.005},     # more, smaller steps
    {"init_std": 0.1},
]


def run_row(overrides: dict) -> dict:
    import numpy as np
    import torch

    from reprozoo.config import load_params
    from reprozoo.data import movielens
    from reprozoo.families.mf import Config
    from reprozoo.families.mf.model import rmse
    from reprozoo.families.mf.train import fit, rating_tensors

    torch.set_num_threads(1)
    params = dataclasses.replace(load_params("params.yaml"), profile="default")
    cfg = dataclasses.replace(params.build(Config, "mf"), **overrides)
    d = movielens.load(Path("data/processed/movielens"))
    n_users, n_items = len(d["user_ids"]), len(d["item_ids"])
    t0 = time.perf_counter()
    per = []
    for f in sorted(set(d["fold"].tolist())):
        tr, te = rating_tensors(d, d["fold"] != f, "cpu"), rating_tensors(d, d["fold"] == f, "cpu")
        per.append(rmse(fit(cfg, n_users, n_items, tr, None, params.seed + 1 + f), *te))
    return {"overrides": overrides, "config": dataclasses.asdict(cfg),
            "cv_rmse": round(float(np.mean(per)), 5), "rmse_per_fold": [round(x, 5) for x in per],
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="rows trained at once (1 thread each)")
    ap.add_argument("--only", nargs="+", type=int, help="run just these row indices")
    args = ap.parse_args()
    rows = [ROWS[i] for i in args.only] if args.only else ROWS
    from reprozoo.bench import write_result

    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_row, rows))
    for r in results:
        print(f"{r['cv_rmse']:.4f}  {r['seconds']:5.0f} s  {r['overrides'] or '(params.yaml)'}")
    write_result("mf_sweep", {"rows": results, "target": 0.905, "threads_per_row": 1})


if __name__ == "__main__":
    main()
