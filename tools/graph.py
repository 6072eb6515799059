"""Write dvc.yaml from params.yaml and the imports of the code each stage runs.

    python tools/graph.py            # rewrite dvc.yaml (also: make graph)
    python tools/graph.py --check    # exit 1 if dvc.yaml is stale (the tests run this)

The stage graph is derived, never typed: the data sets are the keys of `prepare:` and the
families the entries of `families:` in params.yaml; each stage's code deps are the project
files its script imports, followed through every import (function-level ones included)
and through the modules the stage loads by name (the family's package, the data set's
prepare module). A family package is one dep (its folder). Left out on purpose:
EXCLUDED below, each with the reason.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC, PIPELINES = ROOT / "src", ROOT / "pipelines"
sys.path[:0] = [str(SRC), str(PIPELINES)]

import _layout as lay  # noqa: E402  (pipelines/_layout.py: the paths of every stage)

# Imported by stages, yet no output file depends on them (so editing them reruns nothing).
EXCLUDED = {
    "reprozoo/tracking.py": "MLflow logging only: runs, tags, copies of outputs and the MLflow models (serving.py)",
    "reprozoo/tracking_process.py": "runs reprozoo/tracking.py in a process beside the stage",
    "reprozoo/tracking_serve.py": "that process itself (what it does with the stage's messages)",
    "reprozoo/tracking_warm.py": "forks that process from a warm one (MLflow loaded once, not per stage)",
    "reprozoo/serving.py": "the MLflow models: their input example and signature (the stage runs the model on it for MLflow only)",
    "reprozoo/progress.py": "progress bars on stderr",
    "reprozoo/errors.py": "exception classes (messages only)",
    "reprozoo/__init__.py": "the package marker and its version string",
    "reprozoo/data/__init__.py": "the package marker (a docstring)",
    "pipelines/_stage.py": "maps exceptions to exit codes and one-line messages",
}
# What every stage but fetch (whose outputs are checked against fixed hashes) also
# depends on: the locked library versions and the CPU pins applied before they load.
ENVIRONMENT = ["requirements.lock", "src/reprozoo/cpu_pins.py"]
SLOTS = 4  # code slots per foreach item (DVC cannot splice a per-item list into deps)


def module_file(name: str) -> Path | None:
    """The file of project module `name` (reprozoo.* under src/, stage helpers in pipelines/)."""
    base = SRC if name.split(".")[0] == "reprozoo" else PIPELINES
    p = base.joinpath(*name.split("."))
    for cand in (p.with_suffix(".py"), p / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _package(path: Path) -> str:
    rel = path.relative_to(SRC if SRC in path.parents else PIPELINES).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] != "__init__" else parts[:-1])


def imports_of(path: Path) -> set[str]:
    """Every project module `path` imports, anywhere in the file (with parent packages)."""
    out: set[str] = set()
    pkg = _package(path) if (SRC in path.parents) else ""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for n in names:
            parts = n.split(".")
            for i in range(1, len(parts) + 1):
                cand = ".".join(parts[:i])
                if module_file(cand) is not None:
                    out.add(cand)
    return out


def closure(files: list[Path], modules: list[str]) -> set[Path]:
    """The project files reached from `files` and `modules` (EXCLUDED ones not followed)."""
    todo = list(files) + [module_file(m) for m in modules]
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f is None or f in seen or _rel(f) in EXCLUDED:
            continue
        seen.add(f)
        todo += [module_file(m) for m in imports_of(f)]
    return seen


def _rel(f: Path) -> str:
    return (f.relative_to(SRC) if SRC in f.parents else f.relative_to(ROOT)).as_posix()


def as_deps(files: set[Path]) -> list[str]:
    """Project files → dvc deps: a family package becomes its folder."""
    fam_root = SRC / "reprozoo" / "families"
    out = set()
    for f in files:
        if fam_root in f.parents and f.parent != fam_root:
            out.add(f.parent.relative_to(ROOT).as_posix())
        else:
            out.add(f.relative_to(ROOT).as_posix())
    return sorted(out)


def stage_code(script: str, modules: list[str] = ()) -> list[str]:
    return as_deps(closure([PIPELINES / script], list(modules)))


def split(per_item: dict[str, list[str]], first: dict[str, str]) -> tuple[list[str], dict[str, list[str]]]:
    """Deps shared by every item (written in the template) and each item's own (its slots)."""
    common = sorted(set.intersection(*(set(v) for v in per_item.values())))
    own = {k: [first[k]] + sorted(set(v) - set(common) - {first[k]}) for k, v in per_item.items()}
    return common, own


def slots(prefix: str, values: list[str], n: int, pad: str, owner: str) -> dict[str, str]:
    """`values` as n fixed foreach slots (prefix0..), padded with `pad` (a harmless repeat)."""
    if len(values) > n:
        raise SystemExit(f"{owner}: {len(values)} {prefix}-deps of its own ({values}); raise the slot count")
    return {f"{prefix}{i}": v for i, v in enumerate(values + [pad] * (n - len(values)))}


def with_environment(deps: list[str]) -> list[str]:
    return list(deps) + [d for d in ENVIRONMENT if d not in deps]


# The history.csv columns each family kind writes in every profile (a family's own extras,
# such as the VAE's 2-D latent run, stay in MLflow), grouped by quantity: one chart each.
# `reprozoo repro-check` renders them after the smoke build and fails on a missing column.
CURVES: dict[str, dict[str, list[str]]] = {
    "mnist_clf": {"loss": ["train_loss", "valid_loss"], "accuracy": ["train_acc", "valid_acc"]},
    "numpy_net": {"loss": ["loss", "val_loss"], "accuracy": ["val_acc"]},
    "multnet": {"loss": ["faithful_loss", "reliable_loss", "nac_mul_loss"]},
    "rbm": {"reconstruction error": ["recon_error"]},
    "vae": {"loss": ["train_loss", "valid_loss"]},
    "gan": {"loss": ["d_loss", "g_loss"], "discriminator output": ["d_real", "d_fake"]},
    "seq2seq": {"loss": ["train_loss", "valid_loss"], "BLEU": ["valid_bleu"]},
    "charrnn": {"loss": ["train_loss", "valid_loss"], "bits per char": ["valid_bits_per_char"]},
    "word2vec": {"loss": ["train_loss"]},
    "mf": {"RMSE": ["train_rmse", "valid_rmse"]},
    "assoc_rules": {"itemsets": ["itemsets"]},
    "qlearning": {"return": ["train_return", "greedy_return"]},
}


def build() -> str:
    import yaml

    from reprozoo import families
    from reprozoo.data import prepare

    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    datasets = list(raw["prepare"])
    fams = families.entries(raw)

    fetch_code = stage_code("fetch.py")
    prep_module = {d: module_file(prepare.PREPARERS[d]).relative_to(ROOT).as_posix() for d in datasets}
    prep_common, prep_own = split({d: stage_code("prepare.py", [prepare.PREPARERS[d]])
                                   for d in datasets}, prep_module)
    prep_items = {d: slots("c", prep_own[d], 2, prep_module[d], d) for d in datasets}
    fam_dir = {n: f"src/reprozoo/families/{e.kind}" for n, e in fams.items()}
    # families.load(kind) imports the kind's config, train and evaluate modules by name; one
    # code list serves both stages (they load the same modules)
    code = {n: sorted(set(stage_code("train.py", [f"reprozoo.families.{e.kind}.{m}"
                                                   for m in ("config", "train", "evaluate")]))
                      | set(stage_code("evaluate.py", [f"reprozoo.families.{e.kind}.{m}"
                                                        for m in ("config", "train", "evaluate")])))
            for n, e in fams.items()}
    common, own = split(code, fam_dir)
    items = {n: {**slots("c", own[n], SLOTS, fam_dir[n], n),
                 **slots("in", [p for p in (e.data, e.needs) if p], 2, fam_dir[n], n)}
             for n, e in fams.items()}
    report_code = stage_code("report.py")
    scripts = {f"pipelines/{x}.py" for x in ("train", "evaluate")}
    # The code every train and evaluate stage runs, hashed once by stage `code`: its one
    # file stands for these in each of them (dvc.lock holds them once, not 44 times).
    shared = [d for d in with_environment(common) if d not in scripts]
    code_stage = sorted(set(stage_code("code.py")) | set(shared))

    def flow(d: dict) -> str:
        return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"

    L = []
    w = L.append
    w("# The stage graph. WRITTEN BY `make graph` (python tools/graph.py) from params.yaml")
    w("# (`prepare:` = the data sets, `families:` = the families) and from the imports of the")
    w("# code each stage runs; do not edit by hand: tests/test_graph.py fails when it is stale")
    w("# or when a stage loads project code that its deps do not cover.")
    w("#")
    w("# Each stage depends on exactly the code it runs. Imported but left out, on purpose:")
    for k, why in EXCLUDED.items():
        w(f"#   {k}: {why}")
    w("# The code that every train and evaluate stage runs is hashed once, by stage `code`,")
    w(f"# and those stages depend on its file ({lay.CODE.as_posix()}) instead of on each of")
    w("# those files: the same reruns, and dvc.lock (which DVC rewrites whole after every")
    w("# stage, ~1 s a stage at its former 175 KB) lists them once instead of 44 times.")
    w("# A family's package is one dep (src/reprozoo/families/<kind>). DVC cannot splice a")
    w("# per-item list into deps, so each item has fixed slots: c0.. its own code, in0/in1 its")
    w("# inputs (data, needs); an unused slot repeats the family's folder (harmless).")
    w("stages:")
    w("  fetch:")
    w(f"    foreach: [{', '.join(datasets)}]")
    w("    do:")
    w("      cmd: python pipelines/fetch.py ${item}")
    w("      deps:")
    for d in fetch_code:
        w(f"        - {d}")
    w("      params:")
    w("        - profile   # a profile's fetch overrides apply (full: the whole MNIST)")
    w("        - fetch")
    w("      outs:")
    w(f"        - {lay.RAW.as_posix()}/${{item}}")
    w("")
    w("  prepare:")
    w("    foreach:")
    for d, it in prep_items.items():
        w(f"      {d}: {flow(it)}")
    w("    do:")
    w("      cmd: python pipelines/prepare.py ${key}")
    w("      deps:")
    for d in with_environment(prep_common):
        w(f"        - {d}")
    w("        - ${item.c0}")
    w("        - ${item.c1}")
    w(f"        - {lay.RAW.as_posix()}/${{key}}")
    w("      params:")
    w("        - profile")
    w("        - seed")
    w("        - prepare.${key}")
    w("      outs:")
    w(f"        - {lay.PROCESSED.as_posix()}/${{key}}")
    w("")
    w("  code:")
    w(f"    cmd: python pipelines/code.py {' '.join(shared)}")
    w("    deps:")
    for d in code_stage:
        w(f"      - {d}")
    w("    outs:")
    w(f"      - {lay.CODE.as_posix()}")
    for stage, outs in (
            ("train", [f"{lay.MODELS.as_posix()}/${{key}}", f"{lay.REPORTS.as_posix()}/train/${{key}}"]),
            ("evaluate", None)):
        w("")
        w(f"  {stage}:")
        w("    foreach:")
        for n, it in items.items():
            w(f"      {n}: {flow(it)}")
        w("    do:")
        w(f"      cmd: python pipelines/{stage}.py ${{key}}")
        w("      deps:")
        w(f"        - pipelines/{stage}.py")
        w(f"        - {lay.CODE.as_posix()}   # stands for the shared code (stage `code`)")
        for i in range(SLOTS):
            w(f"        - ${{item.c{i}}}")
        w("        - ${item.in0}")
        w("        - ${item.in1}")
        if stage == "evaluate":
            w(f"        - {lay.MODELS.as_posix()}/${{key}}")
        w("      params:")
        for p in ("profile", "seed", "device", "${key}"):
            w(f"        - {p}")
        w("      outs:")
        if outs:
            for o in outs:
                w(f"        - {o}")
        else:
            w(f"        - {lay.REPORTS.as_posix()}/eval/${{key}}")
            w("      metrics:")
            w(f"        - {lay.REPORTS.as_posix()}/metrics/${{key}}.json:")
            w("            cache: false")
    w("")
    w("  report:")
    w("    cmd: python pipelines/report.py")
    w("    deps:")
    for d in with_environment(report_code):
        w(f"      - {d}")
    for d in ("metrics", "train", "eval"):
        w(f"      - {lay.REPORTS.as_posix()}/{d}")
    w("    params:")
    w("      - profile")
    w("    outs:")
    w("      - reports/README.md:")
    w("          cache: false")
    w("      - reports/figures:")
    w("          cache: false")
    w("      - reports/tables:")
    w("          cache: false")
    w("")
    w("plots:")
    w("  # One chart per family and quantity, x = step (the epoch; the step of the NumPy network,")
    w("  # the episode block of Q-learning), the columns named: `dvc plots show` draws every")
    w("  # family's learning curves. Image plots: the report's committed figures.")
    for name, e in fams.items():
        for title, cols in CURVES.get(e.kind, {}).items():
            w(f"  - {name} · {title}:")
            w("      x: step")
            w(f"      y: {{{lay.REPORTS.as_posix()}/train/{name}/history.csv: [{', '.join(cols)}]}}")
    w(f"  - {lay.REPORTS.as_posix()}/figures")
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that dvc.yaml is up to date")
    args = ap.parse_args()
    text = build()
    path = ROOT / "dvc.yaml"
    if args.check:
        if path.read_text(encoding="utf-8") != text:
            print("dvc.yaml is stale: run `make graph` (python tools/graph.py) and commit it",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
