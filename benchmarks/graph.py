"""Where the graph's time goes: run `dvc repro` and record each stage's wall time.

    python benchmarks/graph.py --in-place          # this checkout (like `make repro`), its profile
    python benchmarks/graph.py --profile smoke     # a scratch copy of the tracked tree, from scratch
    python benchmarks/graph.py --profile full --collect reports/full evaluate@cnn evaluate@vae
                                                   # only these stages (and what they need); keep
                                                   # their metrics and a targets report in reports/full/
    python benchmarks/graph.py --profile full --keep evaluate@gan_dcgan
                                                   # keep the scratch copy; the next --keep run reuses
                                                   # it and reruns only what changed since

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


def scratch_copy(profile: str, reuse: bool = False) -> tuple[Path, bool]:
    """A scratch copy of the tracked tree on `profile`. With `reuse`, a copy kept by an
    earlier `--keep` run is refreshed instead: today's code and params go in, its own
    dvc.lock, DVC cache and built outputs stay, so `dvc repro` reruns only what changed.
    Returns the copy and whether a kept one was reused."""
    work = ROOT / f".scratch/bench-graph-{profile}"
    if not (reuse and (work / ".git").is_dir() and (work / "dvc.lock").is_file()):
        make_copy(ROOT, work, profile)
        return work, False
    lock = (work / "dvc.lock").read_bytes()
    make_copy(ROOT, work / ".fresh", profile)
    fresh = work / ".fresh"
    for f in fresh.rglob("*"):
        rel = f.relative_to(fresh)
        if f.is_file() and rel.parts[0] != ".git":
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            if not (work / rel).is_file() or (work / rel).read_bytes() != f.read_bytes():
                shutil.copy2(f, work / rel)
    shutil.rmtree(fresh)
    (work / "dvc.lock").write_bytes(lock)
    print(f"reusing the kept scratch copy {work.relative_to(ROOT)} (its outputs and dvc.lock)")
    return work, True


def run(cwd: Path, targets: list[str]) -> tuple[float, dict[str, float], int]:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    times: dict[str, float] = {}
    current, started = None, 0.0
    t0 = time.perf_counter()
    proc = subprocess.Popen(["dvc", "repro", *targets], cwd=cwd, env=env, stdout=subprocess.PIPE,
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


def collect(copy: Path, dest: Path, report: dict) -> list[str]:
    """Keep what a scratch build evaluated: for each family whose evaluate stage ran, its
    headline metrics (dest/metrics/<family>.json), whole evaluation (details.json),
    training curves (history.csv) and the run that made them (run.json: command, commit,
    machine, its stages' seconds). Families from earlier runs stay; the README is remade
    from all of them with the profile's targets (met / missed). Returns the families kept."""
    from reprozoo.report import markdown

    ran = [k.split("@", 1)[1] for k in report["stage_s"] if k.startswith("evaluate@")]
    (dest / "metrics").mkdir(parents=True, exist_ok=True)
    run_info = {k: v for k, v in report.items() if k != "stage_s"}
    for fam in ran:
        fdir = dest / fam
        shutil.rmtree(fdir, ignore_errors=True)
        fdir.mkdir()
        shutil.copy2(copy / "reports/metrics" / f"{fam}.json", dest / "metrics" / f"{fam}.json")
        for src in (copy / "reports/eval" / fam / "details.json", copy / "reports/train" / fam / "history.csv"):
            if src.is_file():
                shutil.copy2(src, fdir / src.name)
        stages = {k: v for k, v in report["stage_s"].items() if k.partition("@")[2] == fam}
        (fdir / "run.json").write_text(json.dumps({**run_info, "stage_s": stages}, indent=2) + "\n")
    families = sorted(f.stem for f in (dest / "metrics").glob("*.json"))
    rows = []
    for fam in families:
        info = json.loads((dest / fam / "run.json").read_text())
        order = sorted(info["stage_s"].items(), key=lambda kv: kv[0].split("@")[0] != "train")
        secs = " + ".join(f"{k.split('@')[0]} {v:.0f} s" for k, v in order)
        rows.append(f"| {fam} | {secs or '(built earlier in its run)'} | `{info['commit']}` | "
                    f"{info['load_average_start'][0]} | `{info['command']}` |")
    head = [f"# reprozoo results, profile {report['profile']}", "",
            "Each family below was built from scratch by `dvc repro` in a scratch copy of the tracked "
            "tree (`benchmarks/graph.py`, the command in its row) on this project's machine "
            f"({report['cores']} CPU cores, {report['device']}, torch {report['torch']}). The numbers are "
            "the stages' own `reports/metrics/<family>.json`, copied to `metrics/`, with "
            "`<family>/details.json` (the whole evaluation), `<family>/history.csv` (training "
            "curves) and `<family>/run.json` (command, commit, machine, load, stage seconds). "
            "Families not listed have not been run on this profile.", "",
            "| family | stage seconds | commit | load at start | command |", "|---|---|---|---|---|",
            *rows, ""]
    body = markdown.build(dest, report["profile"]).splitlines()
    # The markdown builder's own title and source paragraph describe the live reports/ folder.
    (dest / "README.md").write_text("\n".join(head + body[3:]) + "\n", encoding="utf-8")
    return ran


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", help="stages to build (default: the whole graph)")
    ap.add_argument("--profile", default=None, help="build a scratch copy on this profile (default: smoke)")
    ap.add_argument("--in-place", action="store_true", help="run `dvc repro` in this checkout instead")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch copy, and reuse one kept before: only the stages that "
                         "changed rerun (e.g. a family that needs the full cnn, without rebuilding it)")
    ap.add_argument("--collect", type=Path, default=None,
                    help="folder (e.g. reports/full) to keep the build's metrics and a targets report in")
    args = ap.parse_args()
    if args.in_place:
        import yaml

        cwd, profile = ROOT, yaml.safe_load((ROOT / "params.yaml").read_text())["profile"]
        reused = False
    else:
        profile = args.profile or "smoke"
        cwd, reused = scratch_copy(profile, reuse=args.keep)
    load_start = [round(x, 2) for x in os.getloadavg()]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    try:
        total, times, rc = run(cwd, args.targets)
        ordered = dict(sorted(times.items(), key=lambda kv: -kv[1]))
        fastest = sorted(times.values())[: max(1, len(times) // 4)]
        command = "python benchmarks/graph.py " + ("--in-place" if args.in_place else f"--profile {profile}")
        if args.keep:
            command += " --keep"
        if args.collect:
            command += f" --collect {args.collect.as_posix()}"
        command += "".join(f" {t}" for t in args.targets)
        import torch

        report = {"command": command, "commit": commit + ("+changes" if dirty else ""),
                  "profile": profile, "cores": os.cpu_count(),
                  "device": "cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                  "torch": torch.__version__, "load_average_start": load_start,
                  "load_average_end": [round(x, 2) for x in os.getloadavg()],
                  "exit_code": rc, "total_s": round(total, 1),
                  "reused_scratch": reused,  # True: only the stages that changed since a --keep run ran
                  "stages_run": len(times), "sum_of_stages_s": round(sum(times.values()), 1),
                  "fixed_cost_estimate_s": round(statistics.median(fastest), 2) if fastest else None,
                  "stage_s": ordered}
        # The timings first: they cannot be measured again without the whole build.
        name = f"graph-{profile}" + ("-" + "-".join(t.replace("@", "_") for t in args.targets)
                                     if args.targets and not args.collect else "")
        out = ROOT / f"reports/bench/{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {out}: {len(times)} stages in {total:.0f} s (exit {rc})")
        if args.collect and rc == 0:
            kept = collect(cwd, ROOT / args.collect, report)
            print(f"kept {', '.join(kept)} in {args.collect}/ (README.md: targets met / missed)")
    finally:
        if not args.in_place and not args.keep:
            shutil.rmtree(cwd, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
