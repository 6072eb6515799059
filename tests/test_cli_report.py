"""The CLI surface, the Markdown report, and the repro-check comparison."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from reprozoo.report import markdown as report
from reprozoo.cli import COMMANDS
from reprozoo.cli.repro_check import compare, compare_reference, lock_outputs
from reprozoo.cpu_pins import PINS

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "reprozoo.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help():
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "reprozoo.cli", name, "--help"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, (name, proc.stderr)
        assert "usage: reprozoo " + name in proc.stdout


def test_report_marks_targets_met_and_missed(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "slp.json").write_text(json.dumps({"test/accuracy": 0.91}))
    (tmp_path / "metrics" / "cnn.json").write_text(json.dumps({"test/accuracy": 0.90}))
    (tmp_path / "eval" / "cnn").mkdir(parents=True)
    from PIL import Image
    Image.new("RGB", (1500, 900), (200, 30, 30)).save(tmp_path / "eval" / "cnn" / "confusion_matrix.png")
    (tmp_path / "eval" / "cnn" / "samples.md").write_text("| a |\n")
    from reprozoo.report.published import publish
    publish(tmp_path, tmp_path / "figures", tmp_path / "tables")
    md = report.build(tmp_path, "default")
    # the report links small committed copies, not the git-ignored DVC outputs
    assert "![eval-confusion_matrix](figures/cnn/eval-confusion_matrix.png)" in md
    assert "[samples](tables/cnn/samples.md)" in md and "](eval/" not in md
    with Image.open(tmp_path / "figures/cnn/eval-confusion_matrix.png") as im:
        assert im.size == (720, 432) and im.mode == "P"
    assert "| slp | test/accuracy | 0.91 | >= 0.88 | met |" in md
    assert "| cnn | test/accuracy | 0.9 | >= 0.96 | **missed** |" in md
    assert report.build(tmp_path, "default") == md  # a pure function of the files


def test_report_says_when_a_target_lies_beyond_the_exact_optimum(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "ql_taxi.json").write_text(json.dumps({"test/mean_return": 7.9, "test/optimal_return": 7.93}))
    (tmp_path / "metrics" / "ql_frozenlake4.json").write_text(json.dumps({"test/mean_return": 0.6, "test/optimal_return": 0.74}))
    md = report.build(tmp_path, "default")
    assert "| ql_taxi | test/mean_return | 7.9 | >= 8.3 | unreachable: the exact optimum is 7.93 |" in md
    assert "| ql_frozenlake4 | test/mean_return | 0.6 | >= 0.73 | **missed** |" in md


def test_repro_check_compares_every_output(tmp_path):
    lock = """schema: '2.0'
stages:
  train@slp:
    cmd: x
    outs:
    - path: models/slp
      md5: {h}.dir
    - path: reports/metrics/slp.json
      md5: abc
"""
    (tmp_path / "a.lock").write_text(lock.format(h="111"))
    (tmp_path / "b.lock").write_text(lock.format(h="222"))
    a, b = lock_outputs(tmp_path / "a.lock"), lock_outputs(tmp_path / "b.lock")
    assert len(a) == 2
    assert compare(a, a) == []
    assert compare(a, b) == ["train@slp:models/slp: 111.dir != 222.dir"]
    del b["train@slp:reports/metrics/slp.json"]
    assert "train@slp:reports/metrics/slp.json: only in run A" in compare(a, b)


def test_report_compares_the_dcgan_fid_with_the_mlp_gans(tmp_path):
    (tmp_path / "metrics").mkdir()
    gan = {"coverage/min_class_fraction": 0.062}
    (tmp_path / "metrics" / "gan_mlp.json").write_text(json.dumps({"test/fid": 600.0, **gan}))
    (tmp_path / "metrics" / "gan_dcgan.json").write_text(
        json.dumps({"test/fid": 700.0, "coverage/min_class_fraction": 0.02}))
    md = report.build(tmp_path, "default")
    assert "| gan_dcgan | test/fid | 700 | <= gan_mlp (600) | **missed** |" in md
    assert "| gan_mlp | coverage/min_class_fraction | 0.062 | >= 0.05 | met |" in md
    assert "| gan_dcgan | coverage/min_class_fraction | 0.02 | >= 0.05 | **missed** |" in md
    (tmp_path / "metrics" / "gan_dcgan.json").write_text(json.dumps({"test/fid": 300.0, **gan}))
    assert "| gan_dcgan | test/fid | 300 | <= gan_mlp (600) | met |" in report.build(tmp_path, "default")


def test_repro_check_leaves_nothing_behind_when_interrupted(tmp_path, monkeypatch):
    import reprozoo.cli.repro_check as rc

    (tmp_path / "params.yaml").write_text("profile: default\ntracking:\n  enabled: true\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "params.yaml"], cwd=tmp_path, check=True)

    def interrupted(builds, parallel):
        for _, log in builds.values():
            log.write_text("half a log", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(rc, "run_graphs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rc.check(tmp_path)
    assert not (tmp_path / ".scratch").exists()


def test_repro_check_run_b_has_tracking_off(tmp_path):
    """Run B of repro-check builds without MLflow: the project's own params.yaml must keep
    a section the switch can find, and nothing else in it may change."""
    import reprozoo.cli.repro_check as rc

    repo = Path(__file__).resolve().parents[1]
    text = (repo / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    rc.tracking_off(tmp_path)
    after = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(after)["tracking"]["enabled"] is False
    assert yaml.safe_load(text)["tracking"]["enabled"] is True
    changed = [(a, b) for a, b in zip(text.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 1 and "enabled: false" in changed[0][1], changed
    with pytest.raises(rc.ReprozooError, match="tracking"):
        rc.tracking_off(tmp_path)  # already off: nothing to switch, said plainly


def test_stage_runs_under_the_project_venv_or_names_the_missing_package(tmp_path):
    """`dvc repro` from outside the venv: the stage re-executes itself with .venv/bin/python;
    with that turned off and no packages, the error names the packages, not the data."""
    repo = Path(__file__).resolve().parents[1]
    if not (repo / ".venv/bin/python").exists():
        pytest.skip("no .venv beside the repository")
    script = str(repo / "pipelines/train.py")
    # -S: no site-packages, as a bare system Python would be
    ok = subprocess.run([sys.executable, "-S", script, "--help"], capture_output=True, text=True,
                        cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert ok.returncode == 0 and "usage: train.py" in ok.stdout, ok.stderr
    bad = subprocess.run([sys.executable, "-S", script, "slp"], capture_output=True, text=True,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "REPROZOO_NO_REEXEC": "1"})
    assert bad.returncode == 1 and "lacks the package(s)" in bad.stderr and "make setup" in bad.stderr
    assert "MIRROR" not in bad.stderr and "Traceback" not in bad.stderr


def test_reference_check_is_strict_on_the_same_cpu_class_and_tolerant_on_another():
    ref = {"cpu_class": "AuthenticAMD/avx2",
           "outputs": {"train@slp:models/slp": "111.dir", "prepare@mnist:data/processed/mnist": "9.dir"},
           "metrics": {"slp": {"test_accuracy": 0.80}, "mf": {"cv.rmse_mean": 1.00}}}
    same_out, same_m = dict(ref["outputs"]), {"slp": {"test_accuracy": 0.80}, "mf": {"cv.rmse_mean": 1.00}}
    assert compare_reference(ref, same_out, same_m, "AuthenticAMD/avx2") == ([], [])
    # one output altered on a machine the guarantee covers: fails, naming the stage and metric
    changed = {**same_out, "train@slp:models/slp": "222.dir"}
    problems, _ = compare_reference(ref, changed, {**same_m, "slp": {"test_accuracy": 0.81}}, "AuthenticAMD/avx2")
    assert "train@slp:models/slp: 111.dir != 222.dir" in problems
    assert "metric slp.test_accuracy: 0.8 -> 0.81" in problems
    # another CPU class: the same difference is a note, the metric within tolerance passes ...
    problems, notes = compare_reference(ref, changed, {**same_m, "slp": {"test_accuracy": 0.81}}, "GenuineIntel/avx2")
    assert problems == [] and any("train@slp" in n for n in notes)
    # ... and a metric outside the tolerance fails
    problems, _ = compare_reference(ref, changed, {**same_m, "slp": {"test_accuracy": 0.60}}, "GenuineIntel/avx2")
    assert problems == ["metric slp.test_accuracy: 0.8 -> 0.6 (outside tolerance {'abs': 0.02, 'rel': 0.1})"]
    # stage `code` (the hashes of the code itself) is not what the reference vouches for:
    # present, absent or different on either side, it is neither a problem nor a note
    with_code = {**same_out, "code:data/code/stages.json": "abc"}
    assert compare_reference(ref, with_code, same_m, "AuthenticAMD/avx2") == ([], [])
    assert compare_reference({**ref, "outputs": {**ref["outputs"], "code:data/code/stages.json": "def"}},
                             with_code, same_m, "AuthenticAMD/avx2") == ([], [])


def test_the_committed_reference_covers_every_smoke_output():
    ref = json.loads((ROOT / "reports/reference/smoke.json").read_text())
    assert ref["profile"] == "smoke" and ref["cpu_class"].count("/") == 1
    stages = {k.split(":")[0].split("@")[0] for k in ref["outputs"]}
    assert {"fetch", "prepare", "train", "evaluate"} <= stages
    assert ref["metrics"]["slp"]["test/accuracy"] > 0.5


def test_stages_pin_the_cpu_before_the_libraries_load():
    """The pins reach torch (its kernel set is AVX2 even on an AVX-512 machine) and MKL."""
    code = ("import sys; sys.path.insert(0, 'pipelines'); import _stage; _stage._pin_cpu(); "
            "import os, torch; print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'], "
            "torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    capability, cbwr, threads = out.stdout.split()
    assert capability in ("AVX2", "DEFAULT") and cbwr == PINS["MKL_CBWR"] and threads == PINS["OMP_NUM_THREADS"]


def test_repro_check_builds_side_by_side_each_timed_and_a_failure_stops_the_other(tmp_path, monkeypatch):
    """run_graphs with a stand-in `dvc` (a shell script; run_graphs finds dvc beside
    sys.executable): both builds start at once, each gets its own time, and a failed build
    raises at once, naming its log, and stops the one still running."""
    import reprozoo.cli.repro_check as rc

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "dvc").write_text("#!/bin/sh\nread secs code < plan\nsleep $secs\necho built\nexit $code\n")
    (bindir / "dvc").chmod(0o755)
    monkeypatch.setattr(rc.sys, "executable", str(bindir / "python"))
    builds = {}
    for name, plan in (("A", "1.5 0"), ("B", "0.2 0")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan").write_text(plan + "\n")
        builds[name] = (tmp_path / name, tmp_path / f"{name}.log")
    secs = rc.run_graphs(builds, parallel=True)
    assert secs["B"] < 1.0 < secs["A"] < 2.5  # side by side: B's time is its own, not A's
    assert (tmp_path / "A.log").read_text() == "built\n"
    (tmp_path / "A" / "plan").write_text("30 0\n")
    (tmp_path / "B" / "plan").write_text("0.2 3\n")
    t0 = time.perf_counter()
    with pytest.raises(rc.ReprozooError, match=r"dvc repro failed in .*B \(log .*B\.log\)"):
        rc.run_graphs(builds, parallel=True)
    assert time.perf_counter() - t0 < 10  # A (30 s) was stopped, not waited for


def test_repro_check_builds_once_where_a_reference_of_this_cpu_class_vouches(tmp_path, monkeypatch):
    """Same CPU class as the reference: one build (tracking off) compared bit for bit with
    it; another class, --twice or --write-reference: two builds. A changed output fails."""
    import reprozoo.cli.repro_check as rc

    assert rc.builds_needed({"cpu_class": "X"}, "X") == ("B",)
    assert rc.builds_needed({"cpu_class": "X"}, "Y") == ("A", "B")
    assert rc.builds_needed({"cpu_class": "X"}, "X", twice=True) == ("A", "B")
    assert rc.builds_needed(None, "X") == ("A", "B")
    assert rc.builds_needed(None, "X", write=True) == ("A", "B")

    (tmp_path / "params.yaml").write_text("profile: default\ntracking:\n  enabled: true\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "params.yaml"], cwd=tmp_path, check=True)
    lock = "schema: '2.0'\nstages:\n  train@slp:\n    cmd: x\n    outs:\n    - path: models/slp\n      md5: {h}.dir\n"
    built: list[list[str]] = []
    out_hash = {"h": "111"}

    def fake_graphs(builds, parallel):
        built.append(sorted(builds))
        for name, (copy, _) in builds.items():
            enabled = yaml.safe_load((copy / "params.yaml").read_text())["tracking"]["enabled"]
            assert enabled is (name == "A")  # run B is the one without tracking
            (copy / "dvc.lock").write_text(lock.format(**out_hash), encoding="utf-8")
        return {name: 1.0 for name in builds}

    monkeypatch.setattr(rc, "run_graphs", fake_graphs)
    monkeypatch.setattr(rc, "plot_errors", lambda copy: [])
    monkeypatch.setattr(rc, "cpu_class", lambda: "Vendor/avx2")
    ref = Path("reference.json")
    rc.write_reference(tmp_path / ref, {"train@slp:models/slp": "111.dir"}, {}, "smoke")
    problems, names = rc.check(tmp_path, reference=ref)
    assert (problems, names, built[-1]) == ([], ("B",), ["B"])
    out_hash["h"] = "222"
    problems, names = rc.check(tmp_path, reference=ref)
    assert names == ("B",) and problems == ["reference: train@slp:models/slp: 111.dir != 222.dir"]
    problems, names = rc.check(tmp_path, reference=ref, twice=True)
    assert names == ("A", "B") and built[-1] == ["A", "B"] and len(problems) == 1
    monkeypatch.setattr(rc, "cpu_class", lambda: "Other/avx2")
    problems, names = rc.check(tmp_path, reference=ref)
    assert names == ("A", "B") and problems == []  # another class: hashes may differ, metrics agree
