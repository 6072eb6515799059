"""Stage start-up: a smoke-profile `train@slp` against `python -c "import torch"`.

Builds a scratch copy of the tracked tree (smoke profile) under .scratch/bench-startup,
prepares MNIST once, then times, each REPEAT times (median): `import torch`, the train@slp
stage with tracking on (the default) and off, and what the stage's MLflow process costs
before it logs anything: `import mlflow`, and that import plus opening the stage's sqlite
store (its first query). Writes reports/bench/startup.json.

    python benchmarks/startup.py        (REPROZOO_DATA_MIRROR must point at the data mirror offline)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from reprozoo.cli.repro_check import make_copy  # noqa: E402

REPEAT = 3


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    work = ROOT / ".scratch/bench-startup"
    make_copy(ROOT, work, "smoke")  # the tracked tree, profile smoke, its own git repo
    params = work / "params.yaml"
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
               MLFLOW_DISABLE_TELEMETRY="true")  # as the stage's tracking process sets it
    try:
        subprocess.run(["dvc", "repro", "-q", "prepare@mnist"], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        py = sys.executable
        stage = [py, "pipelines/train.py", "slp"]
        off = work / "params_off.yaml"
        off.write_text(re.sub(r"(?m)^(tracking:\s*\n\s*enabled:)\s*true", r"\1 false", params.read_text()))
        store = ("from mlflow import MlflowClient; "
                 f"MlflowClient({'sqlite:///' + str(work / 'mlflow.db')!r}).search_experiments()")
        rows = {"import torch": [py, "-c", "import torch"], "train@slp (tracking on)": stage,
                "train@slp (tracking off)": stage + ["--params", "params_off.yaml"],
                # the tracking process's own start (after the runs above made the store)
                "import mlflow": [py, "-c", "import mlflow"],
                "import mlflow + open the store": [py, "-c", store]}
        times = {k: [timed(cmd, work, env) for _ in range(REPEAT)] for k, cmd in rows.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    base = med["import torch"]
    report = {"command": "python benchmarks/startup.py", "cores": os.cpu_count(), "repeat": REPEAT,
              "median_s": med, "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
              "ratio_to_import_torch": {k: round(v / base, 2) for k, v in med.items()},
              "goal": "train@slp (smoke) <= 2x import torch (issue 16)"}
    out = ROOT / "reports/bench/startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["median_s"]), json.dumps(report["ratio_to_import_torch"]))


if __name__ == "__main__":
    main()
