"""The stage graph knows its code, and the family registry agrees with itself.

- dvc.yaml is what `tools/graph.py` writes from params.yaml and the code (not stale);
- every project module a stage loads (its script, the modules it loads by name, and all
  their imports, function-level ones included, as Python itself resolves them) is covered
  by that stage's deps as DVC resolves them, unless dvc.yaml's header says why it is not;
- a family is declared once: families, params sections, kinds, report targets and the
  README's results table name the same families.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CODE = "data/code/stages.json"  # stage `code`'s output (pipelines/_layout.py: CODE)

# For each set of roots (argv[2] is a JSON list of them), in a child forked from one
# process: imports every module a stage loads, then every module those import anywhere in
# their source (function-level imports too), until nothing new loads; prints the project
# files of each set. The parent imports only third-party libraries first (never a project
# module), so each child starts from no project code, without paying torch's import again.
PROBE = r"""
import ast, importlib, json, os, sys, tempfile
SKIP = set(json.loads(os.environ.get("PROBE_SKIP", "[]")))
REPO = sys.argv[1]
sys.path[:0] = [REPO + "/pipelines", REPO + "/src"]
for lib in ("numpy", "pandas", "scipy", "sklearn", "torch", "matplotlib.pyplot", "yaml"):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
assert not any((getattr(m, "__file__", None) or "").startswith((REPO + "/src/", REPO + "/pipelines/"))
               for m in list(sys.modules.values())), "a third-party import loaded project code"
def probe(roots):
    for r in roots:
        if r.startswith("kind:"):  # what the train/evaluate stages load by name
            importlib.import_module("reprozoo.families").load(r[5:])
        else:
            importlib.import_module(r)
    return follow()
def project():
    out = {}
    for name, m in list(sys.modules.items()):
        f = getattr(m, "__file__", None) or ""
        if f.startswith((REPO + "/src/", REPO + "/pipelines/")):
            out[name] = f
    return out
def follow():
    done = set()
    while True:
        mods = project()
        new = [n for n in mods if n not in done]
        if not new:
            break
        for name in new:
            done.add(name)
            if os.path.relpath(mods[name], REPO) in SKIP:
                continue  # an excluded module's imports are not followed (as tools/graph.py)
            src = open(mods[name], encoding="utf-8").read()
            pkg = name if mods[name].endswith("__init__.py") else name.rpartition(".")[0]
            for node in ast.walk(ast.parse(src)):
                targets = []
                if isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = importlib.util.resolve_name("." * node.level + (node.module or ""), pkg) if node.level else node.module
                    targets = [base] + [base + "." + a.name for a in node.names]
                for t in targets:
                    if not (t.startswith("reprozoo") or t.startswith("_")):
                        continue
                    try:
                        importlib.import_module(t)
                    except ImportError:
                        pass  # `from pkg import name` where name is not a module
    return sorted(set(project().values()))
result = {}
for roots in json.loads(sys.argv[2]):
    with tempfile.TemporaryFile("w+") as out:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                json.dump(probe(roots), out)
                out.flush()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, f"the probe of {roots} failed"
        out.seek(0)
        result["|".join(roots)] = json.load(out)
print(json.dumps(result))
"""


def loaded_files_of(root_sets: list[tuple[str, ...]]) -> dict[tuple[str, ...], list[str]]:
    """The project files each set of roots loads (one probe process for all of them)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, str(REPO), json.dumps(root_sets)],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PROBE_SKIP": json.dumps(sorted(excluded()))})
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    return {tuple(roots): [Path(f).relative_to(REPO).as_posix() for f in found["|".join(roots)]]
            for roots in root_sets}


def loaded_files(*roots: str) -> list[str]:
    return loaded_files_of([roots])[roots]


@pytest.fixture(scope="module")
def stage_deps() -> dict[str, list[str]]:
    """Each stage's deps as DVC itself resolves dvc.yaml (foreach, interpolation)."""
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        deps = {s.addressing: [Path(d.def_path).as_posix() for d in s.deps]
                for s in repo.index.stages}
    # A stage that depends on stage `code`'s file of hashes depends on the files it hashes
    # (test_the_code_stage_hashes_its_deps checks that it does).
    shared = deps["code"]
    return {k: v + shared if CODE in v else v for k, v in deps.items()}


def excluded() -> set[str]:
    head = (REPO / "dvc.yaml").read_text(encoding="utf-8").split("stages:")[0]
    return {("src/" + m.group(1) if m.group(1).startswith("reprozoo/") else m.group(1))
            for m in re.finditer(r"^#\s+(\S+\.py): ", head, re.M)}


def uncovered(files: list[str], deps: list[str], skip: set[str]) -> list[str]:
    return [f for f in files if f not in skip
            and not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)]


def test_dvc_yaml_is_written_from_params_and_code():
    proc = subprocess.run([sys.executable, "tools/graph.py", "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_module_a_stage_loads_is_a_dep(stage_deps):
    sys.path.insert(0, str(REPO / "src"))
    from reprozoo import families
    from reprozoo.data import prepare

    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    skip = excluded()
    assert "src/reprozoo/tracking.py" in skip  # the header names what it leaves out
    checks = {"fetch@mnist": ["fetch"], "report": ["report"], "code": ["code"]}
    for ds in params["prepare"]:
        checks[f"prepare@{ds}"] = ["prepare", prepare.PREPARERS[ds]]
    by_kind: dict[str, list[str]] = {}
    for name, e in families.entries(params).items():
        by_kind.setdefault(e.kind, []).append(name)
    problems = {}
    kind_roots = {(stage, kind): (stage, f"kind:{kind}") for kind in by_kind for stage in ("train", "evaluate")}
    loaded = loaded_files_of([*kind_roots.values(), *(tuple(r) for r in checks.values())])
    for (stage, kind), roots in kind_roots.items():
        for name in by_kind[kind]:
            bad = uncovered(loaded[roots], stage_deps[f"{stage}@{name}"], skip)
            if bad:
                problems[f"{stage}@{name}"] = bad
    for stage, roots in checks.items():
        bad = uncovered(loaded[tuple(roots)], stage_deps[stage], skip)
        if bad:
            problems[stage] = bad
    assert not problems, f"stages that load code their deps do not list: {problems}"


def test_the_code_stage_hashes_its_deps(stage_deps, tmp_path):
    """Stage `code` hashes every file it depends on (its own script aside), and its file
    changes when one of them does: the stages that depend on it rerun as if on each file."""
    import shlex

    text = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    stages = yaml.safe_load(text)["stages"]
    cmd = shlex.split(stages["code"]["cmd"])
    assert stages["code"]["outs"] == [CODE]
    hashed = set(cmd[2:])
    assert hashed == set(stage_deps["code"]) - {"pipelines/code.py"}
    assert all(CODE in stage_deps[s] for s in stage_deps if s.startswith(("train@", "evaluate@")))

    def run_code(*files: str) -> dict:
        out = tmp_path / "stages.json"
        proc = subprocess.run([sys.executable, str(REPO / "pipelines/code.py"), *files, "--out", str(out)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(out.read_text())["sha256"]

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = run_code("b.py", "a.py")
    assert sorted(before) == ["a.py", "b.py"]
    (tmp_path / "b.py").write_text("y = 3\n")
    after = run_code("a.py", "b.py")
    assert after["a.py"] == before["a.py"] and after["b.py"] != before["b.py"]


def test_the_probe_catches_a_missing_dep():
    """The check above can fail: drop a family folder from its deps and it is reported."""
    files = loaded_files("train", "kind:rbm")
    assert "src/reprozoo/families/rbm/model.py" in files
    deps = ["pipelines/train.py", "src/reprozoo/families/mnist_clf"]
    assert "src/reprozoo/families/rbm/model.py" in uncovered(files, deps, set())


def test_one_registry_families_sections_kinds_targets_readme():
    sys.path.insert(0, str(REPO / "src"))
    from reprozoo import families
    from reprozoo.report.targets import RELATIVE, TARGETS

    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    entries = families.entries(params)
    names = set(entries)
    infra = {"profile", "seed", "device", "tracking", "fetch", "prepare", "families"}
    sections = set(params) - infra
    assert sections == names, f"params sections without a family: {sections - names}; " \
                              f"families without a section: {names - sections}"
    used = {e.kind for e in entries.values()}
    assert used == set(families.kinds()), f"kinds no family uses: {set(families.kinds()) - used}"
    for kind in used:
        k = families.load(kind)
        assert callable(k.train) and callable(k.evaluate) and k.Config.__module__.endswith(".config")
    assert set(TARGETS) <= names, f"targets for unknown families: {set(TARGETS) - names}"
    assert {r[0] for r in RELATIVE} | {r[3] for r in RELATIVE} <= names
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Results on the default profile")[1].split("\n## ")[0].split("\nTimings seen here")[0]
    # the first column of each row names its families, with notes in parentheses:
    # `a (note) / b (note)`
    in_readme = set(re.findall(r"[a-z][a-z0-9_]+", " ".join(
        re.sub(r"\([^)]*\)", " ", line.split("|")[1])
        for line in table.splitlines() if line.startswith("| "))))
    assert names <= in_readme | {"family"}, f"families missing from README's results: {names - in_readme}"
    assert in_readme - {"family"} <= names, f"README rows name unknown families: {in_readme - names - {'family'}}"


def test_bytecode_is_not_part_of_a_code_dep():
    """A family package is a directory dep: the bytecode any import writes into it (the
    tests, a notebook, another Python version) must not change its hash (.dvcignore), or
    every family stage would look changed in a checkout where the tests ran."""
    from dvc.repo import Repo

    pkg = REPO / "src/reprozoo/families/mnist_clf"
    with Repo(str(REPO)) as repo:
        ignore = repo.dvcignore
        assert ignore.is_ignored_dir(str(pkg / "__pycache__"))
        assert ignore.is_ignored_file(str(pkg / "__pycache__" / "model.cpython-311.pyc"))
        assert not ignore.is_ignored_file(str(pkg / "model.py"))
