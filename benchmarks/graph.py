"""Where the graph's time goes: run `dvc repro` and record each stage's wall time.

    python benchmarks/graph.py --in-place          # this checkout (like `make repro`), its profile
    python benchmarks/graph.py --profile smoke     # a scratch copy of the tracked tree, from scratch

Streams DVC's output, times each stage from its "Running stage" line to the next one (a
stage DVC skips as unchanged gets no time), and writes reports/bench/graph-<profile>.json:
total wall time, per-stage seconds (slowest first) and the per-stage fixed cost estimate
(the median of the fastest quarter of stages, i.e. start-up with almost no work).
"""

from __future__ import annotations

import argparse
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

RUNNING = re.compile(r"^Running stage '([^']+)'")


def scratch_copy(profile: str) -> Path:
    work = ROOT / f".scratch/bench-graph-{profile}"
    make_copy(ROOT, work, profile)
    return work


def run(cwd: Path) -> tuple[float, dict[str, float], int]:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    times: dict[str, float] = {}
    current, started = None, 0.0
    t0 = time.perf_counter()
    proc = subprocess.Popen(["dvc", "repro"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        m = RUNNING.match(line)
        if m:
            now = time.perf_counter()
            if current:
                times[current] = round(now - started, 2)
            current, started = m.group(1), now
        elif current and (line.startswith("Updating lock file") or line.startswith("Use `dvc push`")):
            times[current] = round(time.perf_counter() - started, 2)
            current = None
    rc = proc.wait()
    if current:
        times[current] = round(time.perf_counter() - started, 2)
    return time.perf_counter() - t0, times, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default=None, help="build a scratch copy on this profile (default: smoke)")
    ap.add_argument("--in-place", action="store_true", help="run `dvc repro` in this checkout instead")
    args = ap.parse_args()
    if args.in_place:
        import yaml

        cwd, profile = ROOT, yaml.safe_load((ROOT / "params.yaml").read_text())["profile"]
    else:
        profile = args.profile or "smoke"
        cwd = scratch_copy(profile)
    try:
        total, times, rc = run(cwd)
    finally:
        if not args.in_place:
            shutil.rmtree(cwd, ignore_errors=True)
    ordered = dict(sorted(times.items(), key=lambda kv: -kv[1]))
    fastest = sorted(times.values())[: max(1, len(times) // 4)]
    report = {"command": "python benchmarks/graph.py " + ("--in-place" if args.in_place else f"--profile {profile}"),
              "profile": profile, "cores": os.cpu_count(), "exit_code": rc, "total_s": round(total, 1),
              "stages_run": len(times), "sum_of_stages_s": round(sum(times.values()), 1),
              "fixed_cost_estimate_s": round(statistics.median(fastest), 2) if fastest else None,
              "stage_s": ordered}
    out = ROOT / f"reports/bench/graph-{profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}: {len(times)} stages in {total:.0f} s (exit {rc})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
