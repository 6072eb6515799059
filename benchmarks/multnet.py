"""Benchmark the multiplication network (seed 000): per variant, wall time to train all
seeds, seeds/s, success rate and relative-error quantiles over the 100×100 grid.

Run from the repo root: ``python benchmarks/multnet.py [--profile default|smoke|full]``.
Writes reports/bench/multnet.json. Uses the multnet section of params.yaml for the chosen
profile (the same Config the train@multnet stage builds).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from reprozoo.bench import write_result
from reprozoo.config import load_params
from reprozoo.families.multnet import Config
from reprozoo.families.multnet.evaluate import rel_errors, summarize
from reprozoo.families.multnet.model import N
from reprozoo.families.multnet.train import TRAIN
from reprozoo.runtime import generator


def config(profile: str) -> Config:
    params = dataclasses.replace(load_params("params.yaml"), profile=profile)
    return params.build(Config, "multnet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default", choices=("default", "smoke", "full"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = config(args.profile)
    results = {"profile": args.profile, "config": {k: v for k, v in vars(cfg).items()}}
    for i, variant in enumerate(cfg.variants):
        t0 = time.perf_counter()
        model, _ = TRAIN[variant](cfg, generator(1000 * i))
        wall = time.perf_counter() - t0
        err = rel_errors(model).reshape(cfg.seeds, -1)
        s = summarize(err.reshape(-1, N, N))
        med, p90 = np.median(err, axis=1), np.quantile(err, 0.9, axis=1)
        results[variant] = {
            "train_wall_s": round(wall, 3), "seeds_per_s": round(cfg.seeds / wall, 3),
            "converged": s["converged"], "seeds": cfg.seeds, "success_rate": s["success_rate"],
            "median_rel_err_over_seeds": {"min": float(med.min()), "median": float(np.median(med)),
                                          "max": float(med.max())},
            "p90_rel_err_over_seeds": {"min": float(p90.min()), "median": float(np.median(p90)),
                                       "max": float(p90.max())},
            "max_rel_err": float(err.max()), "error_table_all_seeds": s["error_table_all_seeds"]}
        print(variant, results[variant]["train_wall_s"], "s,", s["converged"], "/", cfg.seeds, "converged")
    write_result("multnet", results)


if __name__ == "__main__":
    main()
