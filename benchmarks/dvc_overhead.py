"""DVC's own cost in this graph: a `dvc repro` with nothing to do, and dvc.lock's rewrite.

Times, in this checkout (its outputs built, so nothing is stale), each REPEAT times:
- `dvc repro` with nothing to do, as a user runs it;
- the same in one Python process, and again with DVC's per-stage params.yaml parse cached
  (an experiment: it patches DVC in that process only; the gap is what the re-parse costs);
- the round trip DVC makes of dvc.lock after every stage it runs (parse for update, dump).
Writes reports/bench/dvc_overhead.json.

    python benchmarks/dvc_overhead.py      (after `dvc repro`: `dvc status` must be clean)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 3
IN_PROCESS = r"""
import sys, time
if sys.argv[1] == "cached":
    import copy
    import dvc.dependency.param as P
    parsed, load = {}, P.load_path
    def cached(path, fs, **kw):
        if path not in parsed:
            parsed[path] = load(path, fs, **kw)
        return copy.deepcopy(parsed[path])
    P.load_path = cached
from dvc.cli import main
t0 = time.perf_counter()
rc = main(["repro", "-q"])
print(time.perf_counter() - t0)
sys.exit(rc)
"""


def main() -> None:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    status = subprocess.run(["dvc", "status", "-q"], cwd=ROOT, env=env)
    if status.returncode != 0:
        sys.exit("dvc status is not clean: run `dvc repro` first (this times a repro with nothing to do)")

    def wall(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    def inside(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", IN_PROCESS, mode], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True).stdout
        return float(out.split()[-1])

    from dvc.utils.serialize._yaml import dumps_yaml, parse_yaml_for_update

    text = (ROOT / "dvc.lock").read_text(encoding="utf-8")

    def round_trip() -> float:
        t0 = time.perf_counter()
        dumps_yaml(parse_yaml_for_update(text, "dvc.lock"))
        return time.perf_counter() - t0

    rows = {"dvc repro, nothing to do": lambda: wall(["dvc", "repro", "-q"]),
            "dvc status": lambda: wall(["dvc", "status", "-q"]),
            "dvc repro in one process": lambda: inside("plain"),
            "dvc repro in one process, params.yaml parsed once (experiment)": lambda: inside("cached"),
            "dvc.lock round trip after each stage": round_trip}
    times = {k: [f() for _ in range(REPEAT)] for k, f in rows.items()}
    report = {"command": "python benchmarks/dvc_overhead.py", "cores": os.cpu_count(),
              "repeat": REPEAT, "dvc_lock_bytes": len(text.encode()),
              "load_average": [round(x, 2) for x in os.getloadavg()],
              "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
              "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
              "goal": "a dvc repro with nothing to do <= 2 s (issue 16)"}
    out = ROOT / "reports/bench/dvc_overhead.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["median_s"]))


if __name__ == "__main__":
    main()
