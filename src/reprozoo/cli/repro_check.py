"""`reprozoo repro-check`: build the graph from scratch in a scratch copy and prove that every
output is the same bits as a build made elsewhere.

Across machines: reports/reference/smoke.json holds the smoke graph's output hashes and
headline metrics as built on one machine, with that machine's CPU class (vendor, AVX2, GPU).
On a machine of the same class every output must be the same bits (the guarantee of
reprozoo/cpu_pins.py); on another class (an Intel CPU against an AMD reference, a GPU)
outputs may differ, and the headline metrics must agree within TOLERANCE instead.

How many builds: where the reference is of this machine's CPU class, one build (run B,
`tracking.enabled: false`) whose every output hash must equal the reference's. The
reference was built with MLflow tracking on, by another process, on another machine or
day, so one match proves both that the build is deterministic and that tracking changes no
output. Elsewhere (another CPU class, no reference, `--profile default`/`full`,
`--write-reference`, or `--twice`) two scratch copies are built, run A with MLflow tracking
as a user's build does and run B without, and the output hashes in their two dvc.lock files
must be equal; on a machine with two or more cores the two builds run side by side (the
thread count is pinned, reprozoo/cpu_pins.py, so sharing the cores changes their speed, not
their bits). `reprozoo repro-check --write-reference` remakes the reference (run A's
outputs, after the two builds agree).
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

from reprozoo.distributed import stop
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


REFERENCE = Path("reports/reference/smoke.json")
CODE_STAGE = "code:"  # outputs of stage `code` (see compare_reference)
# Outside the bit-identity guarantee: |new - old| <= max(ABS, REL * |old|) on the headline
# metrics (report.targets), GAN sample coverage excepted (GAN training is chaotic).
TOLERANCE = {"abs": 0.02, "rel": 0.10}


def cpu_class() -> str:
    """What the bit-identity guarantee is stated for: CPU vendor, AVX2, and a GPU if any."""
    vendor, avx2 = "unknown", False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    avx2 = "avx2" in line.split()
                    break
    except OSError:
        pass
    try:
        import torch

        gpu = "+cuda" if torch.cuda.is_available() else ""
    except ImportError:
        gpu = ""
    return f"{vendor}/{'avx2' if avx2 else 'no-avx2'}{gpu}"


def headline_metrics(copy: Path) -> dict[str, dict[str, float]]:
    """{family: {metric: value}} for the metrics the report's targets name."""
    import json

    from reprozoo.metrics import flatten
    from reprozoo.report.targets import TARGETS

    out: dict[str, dict[str, float]] = {}
    for family, targets in TARGETS.items():
        f = copy / "reports/metrics" / f"{family}.json"
        if not f.is_file():
            continue
        flat = flatten(json.loads(f.read_text(encoding="utf-8")))
        keys = sorted({t[0] for t in targets if not t[0].startswith("coverage/")})
        vals = {k: flat[k] for k in keys if isinstance(flat.get(k), (int, float))}
        if vals:
            out[family] = vals
    return out


def write_reference(path: Path, outputs: dict[str, str], metrics: dict, profile: str) -> None:
    import json

    from reprozoo.runtime import cpu_identity

    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"made_with": f"reprozoo repro-check --profile {profile} --write-reference",
            "cpu_class": cpu_class(), "cpu": cpu_identity()["cpu.model"], "profile": profile,
            "outputs": outputs, "metrics": metrics}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def compare_reference(ref: dict, outputs: dict[str, str], metrics: dict, here: str) -> tuple[list[str], list[str]]:
    """(problems, notes). Same CPU class: every output must match (metrics shown old -> new
    for the stages that differ). Another class: differing outputs are notes, and headline
    metrics outside TOLERANCE are problems."""
    strict = ref.get("cpu_class") == here
    old_m = ref.get("metrics", {})
    # Stage `code` writes the hashes of the code itself (the shared deps of every train and
    # evaluate stage): it differs whenever that code does, which is not what the reference
    # vouches for (the outputs the code computes); runs A and B still compare it.
    outputs = {k: v for k, v in outputs.items() if not k.startswith(CODE_STAGE)}
    diff = compare({k: v for k, v in ref.get("outputs", {}).items() if not k.startswith(CODE_STAGE)},
                   outputs)
    problems: list[str] = []
    notes: list[str] = []
    (problems if strict else notes).extend(diff)
    for family in sorted(set(old_m) | set(metrics)):
        a, b = old_m.get(family, {}), metrics.get(family, {})
        for key in sorted(set(a) | set(b)):
            old, new = a.get(key), b.get(key)
            if old == new:
                continue
            line = f"metric {family}.{key}: {old} -> {new}"
            within = (old is not None and new is not None
                      and abs(new - old) <= max(TOLERANCE["abs"], TOLERANCE["rel"] * abs(old)))
            if strict:
                problems.append(line)
            elif within:
                notes.append(line + " (within tolerance)")
            else:
                problems.append(line + f" (outside tolerance {TOLERANCE})")
    return problems, notes


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


def tracking_off(copy: Path) -> None:
    """Set `tracking.enabled: false` in a copy's params.yaml (run B)."""
    params = copy / "params.yaml"
    text, n = re.subn(r"(?m)^(tracking:[ \t]*(?:#.*)?\n(?:[ \t]+#.*\n)*[ \t]+enabled:)[ \t]*true\b",
                      r"\1 false", params.read_text(encoding="utf-8"))
    if n != 1:
        raise ReprozooError(f"{params}: expected a `tracking:` section whose first key is "
                            "`enabled: true`")
    params.write_text(text, encoding="utf-8")


def _graph_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("MLFLOW_TRACKING_URI", None)  # each copy gets its own sqlite store
    mirror = env.get("REPROZOO_DATA_MIRROR")
    if mirror:
        env["REPROZOO_DATA_MIRROR"] = str(Path(mirror).resolve())
    return env


def run_graphs(builds: dict[str, tuple[Path, Path]], parallel: bool) -> dict[str, float]:
    """`dvc repro` in each copy (name -> (copy, log)), side by side when `parallel`; the
    seconds each took. A failed build raises with its log's tail; on any exit the builds
    still running are stopped."""
    dvc = str(Path(sys.executable).parent / "dvc")
    env = _graph_env()
    waves = [list(builds)] if parallel else [[name] for name in builds]
    secs: dict[str, float] = {}
    for wave in waves:
        procs: dict[str, tuple[subprocess.Popen, float]] = {}
        try:
            for name in wave:
                copy, log = builds[name]
                with open(log, "w", encoding="utf-8") as f:
                    procs[name] = (subprocess.Popen([dvc, "repro"], cwd=copy, env=env, stdout=f,
                                                    stderr=subprocess.STDOUT), time.perf_counter())
            while any(name not in secs for name in procs):
                for name, (proc, t0) in procs.items():  # each build's own time, the first failure at once
                    if name in secs or proc.poll() is None:
                        continue
                    secs[name] = time.perf_counter() - t0
                    if proc.returncode != 0:
                        copy, log = builds[name]
                        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
                        raise ReprozooError(f"dvc repro failed in {copy} (log {log}):\n" + "\n".join(tail))
                time.sleep(0.2)
        finally:
            for proc, _ in procs.values():
                stop(proc)
    return secs


def plot_errors(copy: Path) -> list[str]:
    """The plots of dvc.yaml that `dvc plots show` cannot draw in a built copy (a column
    named in tools/graph.py's CURVES that a family does not write, a missing file)."""
    import json

    dvc = str(Path(sys.executable).parent / "dvc")
    proc = subprocess.run([dvc, "plots", "show", "--json"], cwd=copy, capture_output=True, text=True)
    try:
        errors = json.loads(proc.stdout).get("errors") or []
    except ValueError:
        return [f"dvc plots show: {(proc.stderr or proc.stdout).strip()[-300:]}"]
    return [f"plot {e.get('name')}: {e.get('msg') or e.get('type')}" for e in errors]


def builds_needed(ref: dict | None, here: str, twice: bool = False, write: bool = False) -> tuple[str, ...]:
    """("B",) when a reference of this CPU class vouches for every output's bits, else ("A", "B")."""
    if twice or write or ref is None or ref.get("cpu_class") != here:
        return ("A", "B")
    return ("B",)


def check(root: Path, profile: str = "smoke", keep: bool = False,
          reference: Path | None = None, write: bool = False, twice: bool = False
          ) -> tuple[list[str], tuple[str, ...]]:
    """Build (once or twice: `builds_needed`) and compare; returns (problems, the runs built).
    The scratch copies are removed on any exit (Ctrl-C, SIGTERM, a failed build, whose log
    is kept) unless the outputs differ or `keep` is set."""
    import json
    import signal

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    ref = None
    if reference is not None and not write:
        ref = json.loads((root / reference).read_text(encoding="utf-8"))
    here = cpu_class()
    names = builds_needed(ref, here, twice, write)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    scratch = root / ".scratch"
    scratch.mkdir(exist_ok=True)
    problems: list[str] = []
    done = failed = False
    try:
        builds = {name: (scratch / f"repro-{name}", scratch / f"repro-{name}.log") for name in names}
        for name, (copy, _) in builds.items():
            make_copy(root, copy, profile)
        tracking_off(builds["B"][0])
        parallel = (os.cpu_count() or 1) >= 2
        if len(names) == 2:
            print(f"building the {profile} graph twice{' side by side' if parallel else ''}: run A with "
                  f"MLflow tracking, run B without (logs: {scratch}/repro-A.log, repro-B.log)",
                  file=sys.stderr)
        else:
            print(f"building the {profile} graph once, without MLflow tracking (run B; log: "
                  f"{scratch}/repro-B.log): the reference {reference}, built with tracking on a "
                  f"machine of this CPU class ({here}), vouches for every output's bits "
                  "(--twice: build a second time as well)", file=sys.stderr)
        secs = run_graphs(builds, parallel)
        for name in names:
            print(f"run {name}: dvc repro ({profile}, tracking {'on' if name == 'A' else 'off'}) "
                  f"in {secs[name]:.0f} s", file=sys.stderr)
        locks = {name: lock_outputs(builds[name][0] / "dvc.lock") for name in names}
        first = names[0]
        metrics = headline_metrics(builds[first][0])
        plot_problems = plot_errors(builds[first][0])
        print(f"run {first}: dvc plots show: {len(plot_problems)} plot(s) failed to load", file=sys.stderr)
        problems = plot_problems
        if len(names) == 2:
            problems = compare(locks["A"], locks["B"]) + plot_problems
            print(f"compared {len(locks['A'])} outputs of runs A and B: "
                  f"{len(problems) - len(plot_problems)} differ", file=sys.stderr)
        if reference is not None and write:
            write_reference(root / reference, locks["A"], metrics, profile)
            print(f"wrote the reference {reference} (CPU class {here})", file=sys.stderr)
        elif ref is not None:
            ref_problems, notes = compare_reference(ref, locks[first], metrics, here)
            mode = ("same CPU class: every output must match" if ref.get("cpu_class") == here
                    else "another CPU class: headline metrics within tolerance")
            print(f"reference {reference} (made on {ref.get('cpu_class')}, here {here}; {mode}): "
                  f"run {first}'s {len(locks[first])} outputs: {len(ref_problems)} problem(s), "
                  f"{len(notes)} note(s)", file=sys.stderr)
            for n in notes:
                print(f"  note: {n}", file=sys.stderr)
            problems += [f"reference: {p}" for p in ref_problems]
        done = True
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
            print(f"the build(s) are kept in {scratch} to inspect", file=sys.stderr)
    return problems, names


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--profile", default="smoke", choices=("smoke", "default", "full"),
                    help="profile to build twice (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies in .scratch/")
    ap.add_argument("--reference", type=Path, default=REFERENCE,
                    help="cross-machine reference of the smoke graph (default: %(default)s)")
    ap.add_argument("--no-reference", action="store_true", help="skip the cross-machine comparison")
    ap.add_argument("--write-reference", action="store_true",
                    help="(re)write the reference from this machine's build instead of comparing")
    ap.add_argument("--twice", action="store_true",
                    help="build twice (run A with MLflow, run B without) even where the reference "
                         "vouches for the bits")


def run(args: argparse.Namespace) -> int:
    reference = None
    if args.profile == "smoke" and not args.no_reference:
        reference = args.reference
        if not args.write_reference and not (Path.cwd() / reference).is_file():
            raise ReprozooError(f"no reference {reference}: make it with `reprozoo repro-check "
                                "--write-reference` (and commit it), or pass --no-reference")
    problems, names = check(Path.cwd(), args.profile, keep=args.keep, reference=reference,
                            write=args.write_reference, twice=args.twice)
    if problems:
        print("repro-check FAILED: outputs differ (between the two runs, or from the reference):")
        for p in problems:
            print(f"  {p}")
        return 1
    if args.write_reference:
        print("repro-check passed: every output hash identical across two runs; the reference is written")
    elif len(names) == 1:
        print("repro-check passed: every output hash identical to the reference's (same CPU class)")
    else:
        print("repro-check passed: every output hash identical across two runs"
              + (" and the reference agrees" if reference is not None else ""))
    return 0
