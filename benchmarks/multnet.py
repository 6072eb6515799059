"""Benchmark the multiplication network (seed 000): per variant, wall time to train all
seeds, seeds/s, success rate and relative-error quantiles over the 100×100 grid.

Run from the repo root: ``python benchmarks/multnet.py [--profile default|smoke]``.
Writes reports/bench/multnet.json. Uses the multnet section of params.yaml merged with
conf/params-A.yaml (the snippet's keys win) for the chosen profile.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from reprozoo.bench import write_result
from reprozoo.families import multnet as m


def config(profile: str) -> m.Config:
    section = dict(yaml.safe_load(Path("params.yaml").read_text())["multnet"])
    snippet = Path("conf/params-A.yaml")
    if snippet.exists():
        section = dict(yaml.safe_load(snippet.read_text())["multnet"])
    overrides = section.get(profile, {}) if profile != "default" else {}
    section = {k: v for k, v in section.items() if k not in ("smoke", "full")}
    section.update(overrides)
    return m.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in section.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default", choices=("default", "smoke", "full"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = config(args.profile)
    results = {"profile": args.profile, "config": {k: v for k, v in vars(cfg).items()}}
    for i, variant in enumerate(cfg.variants):
        t0 = time.perf_counter()
        model, _ = m.TRAIN[variant](cfg, m.generator(1000 * i))
        wall = time.perf_counter() - t0
        err = m.rel_errors(model).reshape(cfg.seeds, -1)
        s = m.summarize(err.reshape(-1, m.N, m.N))
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
