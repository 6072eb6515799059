"""Benchmark: our Funk-SVD (reprozoo.families.mf) vs scikit-surprise SVD on the same 5 folds.

Run from the repository root after `prepare@movielens`: `python benchmarks/mf.py`.
Writes reports/bench/mf.json: per-fold and mean RMSE, fit time and ratings/s for each.
Surprise is optional (`pip install scikit-surprise`); without it only our model runs and
the JSON says so. Surprise's SVD runs with its defaults (k=100, 20 epochs, lr 0.005,
reg 0.02: the configuration of its published 0.934 table entry).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    import torch

    from reprozoo.bench import write_result
    from reprozoo.config import load_params
    from reprozoo.data import movielens
    from reprozoo.families.mf import Config
    from reprozoo.families.mf.model import rmse
    from reprozoo.families.mf.train import fit, rating_tensors

    params_path = sys.argv[1] if len(sys.argv) > 1 else "params.yaml"
    params = load_params(params_path)
    cfg = params.build(Config, "mf")
    d = movielens.load(Path("data/processed/movielens"))
    n_users, n_items = len(d["user_ids"]), len(d["item_ids"])
    folds = sorted(set(d["fold"].tolist()))
    results: dict = {"n_ratings": int(len(d["rating"])), "folds": len(folds),
                     "ours": {"config": dataclasses.asdict(cfg),
                              "rmse": [], "fit_s": []}}
    # untimed warm-up (allocator, thread pool), so fold 0 is timed like the others
    fit(dataclasses.replace(cfg, epochs=2), n_users, n_items, rating_tensors(d, d["fold"] != folds[0], "cpu"),
        None, params.seed)
    for f in folds:
        tr = rating_tensors(d, d["fold"] != f, "cpu")
        te = rating_tensors(d, d["fold"] == f, "cpu")
        t0 = time.perf_counter()
        model = fit(cfg, n_users, n_items, tr, None, params.seed + 1 + f)
        results["ours"]["fit_s"].append(time.perf_counter() - t0)
        results["ours"]["rmse"].append(rmse(model, *te))
        print(f"fold {f}: ours {results['ours']['rmse'][-1]:.4f} ({results['ours']['fit_s'][-1]:.1f}s)", file=sys.stderr)
    n_train = int(len(d["rating"]) * (len(folds) - 1) / len(folds))
    _summary(results["ours"], n_train * cfg.epochs)
    results["ours"]["torch_threads"] = torch.get_num_threads()
    try:
        from surprise import SVD, Dataset, Reader
    except ImportError as exc:
        results["surprise"] = {"error": f"scikit-surprise not installed ({exc})"}
    else:
        import surprise

        reader = Reader(rating_scale=(1, 5))
        raw = [(str(u), str(i), float(r), None) for u, i, r in zip(d["user"], d["item"], d["rating"])]
        base = Dataset(reader)
        res = {"version": surprise.__version__, "algo": "SVD (defaults)", "rmse": [], "fit_s": []}
        for f in folds:
            train_raw = [raw[k] for k in np.flatnonzero(d["fold"] != f)]
            test_raw = [raw[k] for k in np.flatnonzero(d["fold"] == f)]
            trainset = base.construct_trainset(train_raw)
            testset = base.construct_testset(test_raw)
            algo = SVD(random_state=params.seed + 1 + f)
            t0 = time.perf_counter()
            algo.fit(trainset)
            res["fit_s"].append(time.perf_counter() - t0)
            pred = algo.test(testset)
            res["rmse"].append(float(np.sqrt(np.mean([(p.r_ui - p.est) ** 2 for p in pred]))))
            print(f"fold {f}: surprise SVD {res['rmse'][-1]:.4f} ({res['fit_s'][-1]:.1f}s)", file=sys.stderr)
        _summary(res, n_train * 20)
        results["surprise"] = res
        results["rmse_ratio_ours_over_surprise"] = results["ours"]["rmse_mean"] / res["rmse_mean"]
    write_result("mf", results)


def _summary(res: dict, rating_updates: int) -> None:
    res["rmse_mean"] = float(np.mean(res["rmse"]))
    res["rmse_std"] = float(np.std(res["rmse"]))
    res["fit_s_mean"] = float(np.mean(res["fit_s"]))
    res["ratings_per_s"] = rating_updates / res["fit_s_mean"]  # training updates per second


if __name__ == "__main__":
    main()
