"""Benchmark the generative MNIST families (issue 3 §4–6): RBM, VAE, MLP GAN, DCGAN.

For each family: train + evaluate under the chosen profile in a scratch folder (the DVC
outputs under models/ and reports/ are left alone), recording wall time, training
images/s and the quality metric; for the RBM also ours vs sklearn's BernoulliRBM on the
same data and budget (fit seconds). Writes reports/bench/generative.json.

usage: python benchmarks/generative.py [--params params.yaml] [--profile smoke|default|full]
                                       [--families rbm vae gan_mlp gan_dcgan]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

QUALITY = {"rbm": ("test_log_likelihood_ais", "logreg_test_accuracy"),
           "vae": ("test_loss", "test_nll_iwae"),
           "gan_mlp": ("fid_cnn", "coverage"), "gan_dcgan": ("fid_cnn", "coverage")}


def run_family(name: str, params, scratch: Path) -> dict:
    from reprozoo import families
    from reprozoo.context import Context
    from reprozoo.runtime import setup

    entry = families.entry(params.raw, name)
    fam = families.load(entry.kind)
    cfg = params.build(fam.Config, name)
    ctx = Context(name=name, profile=params.profile, data_dir=Path(entry.data),
                  needs=Path(entry.needs) if entry.needs else None,
                  model_dir=scratch / "models" / name, report_dir=scratch / "train" / name,
                  runtime=setup(params.seed, params.device))
    ctx.model_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    fam.train(cfg, ctx)
    t_train = time.perf_counter() - t0
    ctx.report_dir = scratch / "eval" / name
    t0 = time.perf_counter()
    metrics = fam.evaluate(cfg, ctx)
    t_eval = time.perf_counter() - t0
    n_train = len(__import__("numpy").load(Path(entry.data) / "y_train.npy", mmap_mode="r"))
    limit = getattr(cfg, "train_limit", 0)
    n_train = min(n_train, limit) if limit else n_train
    epochs = getattr(cfg, "epochs", 1)
    return {"config": dataclasses.asdict(cfg), "train_seconds": round(t_train, 3),
            "eval_seconds": round(t_eval, 3), "train_images_per_s": round(epochs * n_train / t_train, 1),
            "quality": {k: metrics.get(k) for k in QUALITY[name]}}


def rbm_vs_sklearn(params) -> dict:
    """Fit seconds of our RBM vs sklearn.neural_network.BernoulliRBM, same data/budget."""
    import numpy as np
    import torch

    from reprozoo.families.rbm import Config
    from reprozoo.families.rbm.evaluate import sklearn_rbm_features
    from reprozoo.families.rbm.model import RBM
    from reprozoo.families.rbm.train import binarize, fit
    from reprozoo.runtime import generator, setup

    cfg = params.build(Config, "rbm")
    rt = setup(params.seed, params.device)
    x = np.load(Path(runner_data(params, "rbm")) / "x_train.npy")
    if cfg.train_limit:
        x = x[np.random.default_rng(0).permutation(len(x))[:cfg.train_limit]]
    xt = torch.from_numpy(x).float().div(255).unsqueeze(1).to(rt.device)
    xb = binarize(xt, generator(params.seed, rt.device))

    class _Ctx:  # the minimum `fit` reads
        name, device, seed = "rbm", rt.device, params.seed
        def log_step(self, *a, **k): pass

    model = RBM.init(cfg.model_config(), generator(params.seed), rt.device, visible_mean=xb.mean(0))
    t0 = time.perf_counter()
    with torch.no_grad():
        fit(model, cfg, xb, _Ctx())
    ours = time.perf_counter() - t0
    _, _, theirs = sklearn_rbm_features(cfg, xb.cpu().numpy(), xb[:10].cpu().numpy(), params.seed)
    return {"ours_fit_seconds": round(ours, 3), "sklearn_fit_seconds": round(theirs, 3),
            "speedup": round(theirs / ours, 2), "n_train": int(len(xb)), "epochs": cfg.epochs}


def runner_data(params, name: str) -> str:
    return params.raw["families"][name]["data"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--profile", choices=["smoke", "default", "full"], default=None)
    ap.add_argument("--families", nargs="+", default=list(QUALITY))
    args = ap.parse_args()

    from reprozoo.bench import write_result
    from reprozoo.config import load_params

    params = load_params(args.params)
    if args.profile:
        params = dataclasses.replace(params, profile=args.profile)
    results: dict = {"profile": params.profile}
    with tempfile.TemporaryDirectory(prefix="bench-generative-") as tmp:
        for name in args.families:
            print(f"bench {name} ({params.profile})", flush=True)
            results[name] = run_family(name, params, Path(tmp))
    if "rbm" in args.families:
        results["rbm_vs_sklearn"] = rbm_vs_sklearn(params)
    write_result("generative", results)


if __name__ == "__main__":
    main()
