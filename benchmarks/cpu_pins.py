"""What each cross-machine CPU pin costs, and whether it changes results on this machine.

Each setting runs in a fresh process (the variables are read when the libraries load) on
four small workloads shaped like reprozoo's families: an MLP step (MKL sgemm), a CNN step
(oneDNN convolution, ATen kernels), a NumPy block (OpenBLAS matmul, NumPy's SIMD exp) and a
batch-1 GRU step (seq2seq_seed: MKL on matrix-vector products).
Writes reports/bench/cpu_pins.json:  python benchmarks/cpu_pins.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
sys.path.insert(0, str(ROOT / "src"))
from reprozoo.cpu_pins import PINS  # noqa: E402

WORK = r'''
import hashlib, json, time
import numpy as np, torch
torch.manual_seed(0)
torch.set_num_threads(2)
out, digest = {}, hashlib.sha256()
def timed(name, fn, reps):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        r = fn()
    out[name] = (time.perf_counter() - t) / reps
    digest.update(r)
mlp = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
x, y = torch.rand(256, 784), torch.randint(0, 10, (256,))
def mlp_step():
    mlp.zero_grad(); loss = torch.nn.functional.cross_entropy(mlp(x), y); loss.backward()
    return b"".join(p.grad.numpy().tobytes() for p in mlp.parameters())
cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
                          torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(9216, 10))
xi = torch.rand(64, 1, 28, 28)
def cnn_step():
    cnn.zero_grad(); loss = torch.nn.functional.cross_entropy(cnn(xi), y[:64]); loss.backward()
    return b"".join(p.grad.numpy().tobytes() for p in cnn.parameters())
a = np.random.default_rng(0).random((512, 784), dtype=np.float32)
b = np.random.default_rng(1).random((784, 512), dtype=np.float32)
def numpy_block():
    return (np.exp(-(a @ b) / 100.0).sum(axis=0)).tobytes()
gru, emb, head = torch.nn.GRU(256, 256, batch_first=True), torch.nn.Embedding(7561, 256), torch.nn.Linear(256, 5636)
xs, ys = torch.randint(0, 7561, (1, 12)), torch.randint(0, 5636, (12,))
def gru_step():  # seq2seq_seed's shape: one sentence pair at a time (matrix-vector products)
    for m in (gru, emb, head): m.zero_grad()
    out, _ = gru(emb(xs)); torch.nn.functional.cross_entropy(head(out[0]), ys).backward()
    return b"".join(p.grad.numpy().tobytes() for p in gru.parameters())
timed("mlp_step_s", mlp_step, 30); timed("cnn_step_s", cnn_step, 10); timed("numpy_block_s", numpy_block, 30)
timed("gru_step_s", gru_step, 30)
out["capability"] = torch.backends.cpu.get_cpu_capability()
out["result_sha256"] = digest.hexdigest()[:16]
print(json.dumps(out))
'''


def measure(extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    env.update(extra)
    proc = subprocess.run([sys.executable, "-c", WORK], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    settings = {"none": {}, **{k: {k: v} for k, v in PINS.items()}, "all pins": dict(PINS),
                "all pins + REPROZOO_CPU_STRICT=1": {**PINS, "MKL_CBWR": "COMPATIBLE,STRICT"}}
    # ROUNDS passes over all settings, interleaved, so that a busy moment hits every setting;
    # each timing is the median over the rounds
    runs: dict[str, list[dict]] = {name: [] for name in settings}
    for _ in range(ROUNDS):
        for name, extra in settings.items():
            runs[name].append(measure(extra))
    rows = {}
    for name, rs in runs.items():
        rows[name] = {**rs[0], **{k: statistics.median(r[k] for r in rs) for k in rs[0] if k.endswith("_s")}}
        rows[name]["result_stable_over_rounds"] = len({r["result_sha256"] for r in rs}) == 1
        print(name, rows[name], flush=True)
    base = rows["none"]
    for r in rows.values():
        for k in ("mlp_step_s", "cnn_step_s", "numpy_block_s", "gru_step_s"):
            r[k[:-2] + "_slowdown"] = round(r[k] / base[k], 3)
        r["same_result_as_none"] = r["result_sha256"] == base["result_sha256"]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    report = {"command": "python benchmarks/cpu_pins.py", "cpu": cpu, "cores": os.cpu_count(), "rounds": ROUNDS,
              "pins": PINS, "results": rows}
    path = ROOT / "reports/bench/cpu_pins.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
