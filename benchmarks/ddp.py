"""torchrun + DDP inside a stage: 1 process against 2, on the default profile's data.

Builds a scratch copy of the tracked tree (default profile) under .scratch/bench-ddp,
prepares MNIST (5,000 images) and Tatoeba once, then runs the real `train@<family>` stage
for cnn, mlp, vae and seq2seq with `nproc: 1` once and `nproc: 2` twice, each with a
shortened schedule (EPOCHS below; tracking off). Records per run the stage's wall time,
the family's validation metric from its history.csv and the model's hash; then whether
the two 2-process runs are bit-identical (determinism) and whether the 2-process metric
is within TOLERANCE of the 1-process one. Writes reports/bench/ddp.json.

    python benchmarks/ddp.py            (REPROZOO_DATA_MIRROR must point at the data mirror offline)
    python benchmarks/ddp.py --tiny     (seconds: a check that the benchmark itself runs)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from reprozoo.bench import machine  # noqa: E402
from reprozoo.cli.repro_check import make_copy  # noqa: E402
from reprozoo.io import sha256_file  # noqa: E402

# family: (overrides of its params.yaml section, validation metric, kind of tolerance)
RUNS = {
    "cnn": ({"epochs": 2, "patience": 40}, "valid_acc", "abs"),
    "mlp": ({"epochs": 10, "patience": 40}, "valid_acc", "abs"),
    "vae": ({"epochs": 10, "latent2_epochs": 0}, "valid_loss", "rel"),
    "seq2seq": ({"epochs": 1, "train_limit": 10000}, "valid_loss", "rel"),
}
TINY = {"cnn": {"epochs": 1, "patience": 40}, "mlp": {"epochs": 1, "patience": 40},
        "vae": {"epochs": 1, "latent2_epochs": 0},
        "seq2seq": {"epochs": 1, "train_limit": 300, "valid_limit": 30, "embed": 16, "hidden": 24}}
# stated before measuring: accuracy within 1 point, losses within 3 %
TOLERANCE = {"abs": 0.01, "rel": 0.03}


def with_overrides(params: str, family: str, overrides: dict) -> str:
    """params.yaml text with `family`'s section extended by `overrides` (a flow mapping
    appended under the section's key; later keys win in the loader's merge)."""
    lines = params.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(rf"^{family}:", ln))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))
    body = [ln for ln in lines[start + 1:end]
            if not any(re.match(rf"^\s+{k}:", ln) for k in overrides)]
    body += [f"  {k}: {json.dumps(v)}" for k, v in overrides.items()]
    return "\n".join(lines[:start + 1] + body + lines[end:]) + "\n"


def last_metric(work: Path, family: str, metric: str) -> float:
    with open(work / "reports/train" / family / "history.csv", encoding="utf-8") as f:
        return float(list(csv.DictReader(f))[-1][metric])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a seconds-long schedule (checks the benchmark runs)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = ap.parse_args()
    work = ROOT / ".scratch/bench-ddp"
    make_copy(ROOT, work, "default")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    base = (work / "params.yaml").read_text(encoding="utf-8")
    base = re.sub(r"(?m)^(tracking:\s*\n\s*enabled:)\s*true", r"\1 false", base)
    results: dict = {}
    try:
        subprocess.run(["dvc", "repro", "-q", "prepare@mnist", "prepare@tatoeba"], cwd=work, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        for family, (over, metric, kind) in RUNS.items():
            over = TINY[family] if args.tiny else over
            rows = []
            for nproc in (1, 2, 2):
                text = with_overrides(base, family, {**over, "nproc": nproc})
                (work / "bench.yaml").write_text(text, encoding="utf-8")
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "pipelines/train.py", family, "--params", "bench.yaml"],
                                      cwd=work, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - t0
                if proc.returncode != 0:
                    raise SystemExit(f"train@{family} nproc={nproc} failed:\n{proc.stderr[-2000:]}")
                rows.append({"nproc": nproc, "wall_s": round(wall, 2),
                             metric: last_metric(work, family, metric),
                             "model_sha256": sha256_file(work / f"models/{family}/model.pt")})
                print(f"{family} nproc={nproc}: {wall:.1f} s, {metric} {rows[-1][metric]:.4f}", file=sys.stderr)
            one, two = rows[0][metric], rows[1][metric]
            diff = abs(two - one) if kind == "abs" else abs(two - one) / abs(one)
            results[family] = {
                "schedule": over, "metric": metric, "runs": rows,
                "deterministic_2proc": rows[1]["model_sha256"] == rows[2]["model_sha256"],
                "difference": round(diff, 5), "difference_kind": "absolute" if kind == "abs" else "relative",
                "tolerance": TOLERANCE[kind], "within_tolerance": diff <= TOLERANCE[kind],
                "speedup_2proc": round(rows[0]["wall_s"] / rows[1]["wall_s"], 2)}
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.tiny:
        print(json.dumps(results, indent=2))
        return 0
    out = ROOT / "reports/bench/ddp.json"
    out.write_text(json.dumps({
        "command": "python benchmarks/ddp.py", "machine": machine(),
        "note": ("real train@<family> stages (fresh interpreter, torchrun start-up included), "
                 "default-profile data, shortened schedules; 2 processes x 1 torch thread against "
                 "1 process x the machine's threads"),
        "results": results}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
