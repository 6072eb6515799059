"""`reprozoo repro-check`: build the graph twice from scratch and compare every output.

Two scratch copies of the working tree's tracked files are made under .scratch/, each
runs `dvc repro` on the chosen profile (smoke by default) with its own DVC cache and
MLflow store, and the output hashes recorded in the two dvc.lock files must be equal.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from reprozoo.errors import ReprozooError


def lock_outputs(lock_file: Path) -> dict[str, str]:
    """{stage:path -> hash} for every output recorded in a dvc.lock."""
    import yaml

    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}
    out = {}
    for stage, body in (lock.get("stages") or {}).items():
        for o in body.get("outs") or []:
            out[f"{stage}:{o['path']}"] = o.get("md5") or o.get("hash") or "?"
    return out


def compare(a: dict[str, str], b: dict[str, str]) -> list[str]:
    problems = [f"{k}: only in run {'A' if k in a else 'B'}" for k in sorted(set(a) ^ set(b))]
    problems += [f"{k}: {a[k]} != {b[k]}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
    return problems


def make_copy(src: Path, dest: Path, profile: str) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=src, capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        if rel.startswith(".scratch/") or not (src / rel).is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)
    params = dest / "params.yaml"
    text, n = re.subn(r"(?m)^profile:\s*\S+", f"profile: {profile}", params.read_text(encoding="utf-8"))
    if n != 1:
        raise ReprozooError(f"{params}: expected one top-level `profile:` line to set")
    params.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)


def run_graph(copy: Path, log: Path) -> float:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("MLFLOW_TRACKING_URI", None)  # each copy gets its own sqlite store
    mirror = env.get("REPROZOO_DATA_MIRROR")
    if mirror:
        env["REPROZOO_DATA_MIRROR"] = str(Path(mirror).resolve())
    dvc = str(Path(sys.executable).parent / "dvc")
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.run([dvc, "repro"], cwd=copy, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise ReprozooError(f"dvc repro failed in {copy} (log {log}):\n" + "\n".join(tail))
    return time.perf_counter() - t0


def check(root: Path, profile: str = "smoke", keep: bool = False) -> list[str]:
    """Build twice and compare. The scratch copies are removed on any exit (Ctrl-C, SIGTERM,
    a failed build, whose log is kept) unless the builds differ or `keep` is set."""
    import signal

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    scratch = root / ".scratch"
    scratch.mkdir(exist_ok=True)
    names = ("A", "B")
    problems: list[str] = []
    done = failed = False
    try:
        locks = []
        for name in names:
            copy = scratch / f"repro-{name}"
            make_copy(root, copy, profile)
            secs = run_graph(copy, scratch / f"repro-{name}.log")
            print(f"run {name}: dvc repro ({profile}) in {secs:.0f} s", file=sys.stderr)
            locks.append(lock_outputs(copy / "dvc.lock"))
        problems = compare(*locks)
        done = True
        print(f"compared {len(locks[0])} outputs: {len(problems)} differ", file=sys.stderr)
    except ReprozooError:
        failed = True  # a build failed: its log stays (the message names it), the copies go
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not keep and not (done and problems):
            for name in names:
                shutil.rmtree(scratch / f"repro-{name}", ignore_errors=True)
                if not failed:
                    (scratch / f"repro-{name}.log").unlink(missing_ok=True)
            if scratch.exists() and not any(scratch.iterdir()):
                scratch.rmdir()
        elif problems:
            print(f"the two builds are kept in {scratch} to inspect", file=sys.stderr)
    return problems


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--profile", default="smoke", choices=("smoke", "default", "full"),
                    help="profile to build twice (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies in .scratch/")


def run(args: argparse.Namespace) -> int:
    problems = check(Path.cwd(), args.profile, keep=args.keep)
    if problems:
        print("repro-check FAILED: outputs differ between two identical runs:")
        for p in problems:
            print(f"  {p}")
        return 1
    print("repro-check passed: every output hash identical across two runs")
    return 0
