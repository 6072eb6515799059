"""GAN class coverage against the training recipe (issue 3 §6): what does and does not
bring every MNIST class above 5 % of the samples on the default profile (mnist-5k).

Each variant is the `gan_mlp` or `gan_dcgan` params entry (default profile) with the
overrides listed below. Every variant trains from the same seed with the stage's pinned
CPU thread count (`cpu_threads`, 1: the numbers are exactly those of the stage), in its own worker
process, and is scored every `--every` epochs: FID in our MNIST CNN's feature space
against the test set, and the classifier's label histogram over 10,000 samples (smallest
class share, entropy). Nothing under models/ or reports/ other than the JSON is touched.
Writes reports/bench/gan_variants.json.

usage: python benchmarks/gan_variants.py [--workers N] [--every 10] [--only NAME ...]
(--only re-runs those variants and keeps the other rows of the existing JSON)

The `full_*` variants are on the full profile (60,000 digits: issue 15's "no class under
7 %"). They need a checkout whose data/processed/mnist and models/cnn are the full
profile's, e.g. the scratch copy that `python benchmarks/graph.py --profile full --keep
train@cnn` leaves: `--workdir .scratch/bench-graph-full`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BENCH = Path("reports/bench")

# name: (params entry, overrides of its config on the default profile; `full_*`: on the full one)
VARIANTS: dict[str, tuple[str, dict]] = {
    "mlp": ("gan_mlp", {}),
    "mlp_pack2": ("gan_mlp", {"pack": 2}),
    "mlp_diffaug": ("gan_mlp", {"augment": "translation+cutout"}),
    # the DCGAN with Radford et al.'s transposed convolutions (the default until session 3)
    "dcgan_transposed": ("gan_dcgan", {"upsample": "transposed"}),
    "dcgan_transposed_pack2": ("gan_dcgan", {"upsample": "transposed", "pack": 2}),
    "dcgan_transposed_diffaug": ("gan_dcgan", {"upsample": "transposed", "augment": "translation+cutout"}),
    "dcgan_transposed_sn_hinge": ("gan_dcgan", {"upsample": "transposed", "loss": "hinge",
                                                "spectral_norm": True}),
    "dcgan_transposed_w64": ("gan_dcgan", {"upsample": "transposed", "width": 64}),  # full-profile width
    # the default DCGAN (resize-convolution upsampling) and remedies on top of it
    "dcgan_resize_60": ("gan_dcgan", {"upsample": "resize", "epochs": 60}),
    "dcgan_mbstd": ("gan_dcgan", {"mbstd_group": 4}),
    "dcgan_nobn": ("gan_dcgan", {"d_batchnorm": False}),
    "dcgan_r1": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 1.0}),
    "dcgan_mbstd_r1": ("gan_dcgan", {"d_batchnorm": False, "mbstd_group": 4, "r1_gamma": 1.0}),
    "dcgan_r1_60": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 1.0, "epochs": 60}),
    "dcgan_r1_g5": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 5.0}),
    "dcgan_r1_ema_40": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 1.0, "ema": 0.999, "epochs": 40}),
    "dcgan_r1_g2_40": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 2.0, "epochs": 40}),
    "dcgan_r1_g2_ema_40": ("gan_dcgan", {"d_batchnorm": False, "r1_gamma": 2.0, "ema": 0.999, "epochs": 40}),
    # full profile (its params: 6 epochs, R1 γ = 1 → smallest class 6.29 % in the stage)
    "full_dcgan_r1_g2": ("gan_dcgan", {"r1_gamma": 2.0}),
    "full_dcgan_r1_g4": ("gan_dcgan", {"r1_gamma": 4.0}),
    "full_dcgan_r1_10": ("gan_dcgan", {"epochs": 10}),
    "full_dcgan_r1_g2_10": ("gan_dcgan", {"r1_gamma": 2.0, "epochs": 10}),
    "full_dcgan_r1_g2_20": ("gan_dcgan", {"r1_gamma": 2.0, "epochs": 20}),
    "full_mlp_20": ("gan_mlp", {"epochs": 20}),  # (its full params: 5 epochs → smallest class 3.7 %)
    "full_mlp_r1_g2_20": ("gan_mlp", {"r1_gamma": 2.0, "epochs": 20}),
}


def profile_of(name: str) -> str:
    return "full" if name.startswith("full_") else "default"


def run_variant(name: str, every: int, workdir: str = ".") -> dict:
    import os

    os.chdir(workdir)  # (a worker process of its own)
    import torch

    from reprozoo import families
    from reprozoo.config import load_params
    from reprozoo.context import Context
    from reprozoo.data import mnist
    from reprozoo.families.gan.evaluate import embed, score
    from reprozoo.families.gan.model import build_model
    from reprozoo.families.gan.train import fit, subset
    from reprozoo.families.mnist_clf.evaluate import load_model
    from reprozoo.runtime import setup

    entry_name, overrides = VARIANTS[name]
    profile = profile_of(name)
    params = dataclasses.replace(load_params("params.yaml"), profile=profile)
    entry = families.entry(params.raw, entry_name)
    cfg = dataclasses.replace(params.build(families.load(entry.kind).Config, entry_name), **overrides)
    torch.set_num_threads(cfg.cpu_threads or 1)  # as the stage runs it (params: cpu_threads)
    data = Path(entry.data)
    runtime = setup(params.seed, "cpu")
    needs = Path(entry.needs)  # the `cnn` model folder (models/cnn)
    clf = load_model(needs / "model.pt", family="cnn", device="cpu")
    x_test, _ = mnist.to_tensors(data, "test", "cpu")
    f_test, _ = embed(clf, x_test[:cfg.n_eval])
    x, _ = mnist.to_tensors(data, "train", "cpu")
    x = subset(x, cfg.train_limit, params.seed) * 2 - 1
    torch.manual_seed(params.seed)
    G, D = build_model(cfg.model_config())
    curve: list[dict] = []

    def score_epoch(epoch: int, G_sample: torch.nn.Module) -> None:
        if epoch % every and epoch != cfg.epochs:
            return
        _, _, fid, cov = score(G_sample, clf, f_test, cfg, params.seed)
        curve.append({"epoch": epoch, "fid_cnn": round(fid, 1),
                      "min_class_fraction": cov["min_class_fraction"],
                      "entropy_bits": round(cov["entropy_bits"], 3),
                      "class_fraction": cov["class_fraction"]})

    ctx = Context(name=entry_name, profile=profile, data_dir=data, model_dir=Path("."),
                  report_dir=Path("."), runtime=runtime)
    t0 = time.perf_counter()
    fit(G, D, cfg, x, ctx, on_epoch=score_epoch)  # scores the sampled G (the EMA copy with `ema`)
    return {"entry": entry_name, "profile": profile, "overrides": overrides, "epochs": cfg.epochs,
            "n_train": len(x),
            "seconds": round(time.perf_counter() - t0, 1), "final": curve[-1], "curve": curve}


def _is_full(workdir: Path) -> bool:
    """Whether the checkout's processed MNIST is the full training set (60,000 digits)."""
    import numpy as np

    x = workdir / "data/processed/mnist/x_train.npy"
    return x.is_file() and np.load(x, mmap_mode="r").shape[0] >= 50_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="variants trained at once (1 thread each)")
    ap.add_argument("--every", type=int, default=10, help="score every this many epochs")
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS), help="run just these variants")
    ap.add_argument("--workdir", default=".",
                    help="where data/processed/mnist and models/cnn are read (the full_* variants: "
                         "a full-profile checkout, e.g. .scratch/bench-graph-full)")
    args = ap.parse_args()
    names = args.only or [n for n in VARIANTS if profile_of(n) == "default"]
    workdir = str(Path(args.workdir).resolve())
    for n in names:
        if profile_of(n) == "full" and not _is_full(Path(workdir)):
            ap.error(f"{n} is a full-profile variant, but {workdir}/data/processed/mnist is not "
                     "the full MNIST: pass --workdir of a full-profile checkout (see the top of this file)")
    from reprozoo.bench import write_result

    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(names, pool.map(run_variant, names, [args.every] * len(names),
                                           [workdir] * len(names))))
    for n, r in results.items():
        f = r["final"]
        print(f"{n:16s} {r['epochs']:3d} ep  FID {f['fid_cnn']:7.1f}  smallest class "
              f"{100 * f['min_class_fraction']:4.1f} %  entropy {f['entropy_bits']:.3f} bits  {r['seconds']:.0f} s")
    old = {}
    if args.only and (BENCH / "gan_variants.json").exists():  # keep the rows not re-run
        old = json.loads((BENCH / "gan_variants.json").read_text())["results"]["variants"]
    write_result("gan_variants", {"variants": {**old, **results}, "threads_per_variant": 1})


if __name__ == "__main__":
    main()
