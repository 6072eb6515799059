"""Fault injection: every way a careless or hostile use can break a run, kept as tests.

Each case must end in one clear line and a non-zero exit (never a bare traceback), leave no
half-written output, keep the previous model, and leave no MLflow run RUNNING: tracking
down / read-only / corrupt, each kind of broken checkpoint (in the stages and the CLI),
non-UTF-8 and NUL input, SIGINT / SIGTERM / SIGKILL mid-epoch, bad params (misspelled keys,
scientific notation, non-finite values, a diverging learning rate), a missing model.
"""

import io
import os
import re
import signal
import sqlite3
import sys
import time
import types
from pathlib import Path

import pytest
import torch

from conftest import run_stage, start_training_in_loop
from reprozoo import checkpoint
from reprozoo.cli import main
from reprozoo.errors import CheckpointError
from reprozoo.families.mnist_clf.config import Config as ClfConfig
from reprozoo.io import sha256_file


def set_param(ws, old, new):
    p = ws / "params.yaml"
    text = p.read_text()
    assert old in text, old
    p.write_text(text.replace(old, new))


def last_line(proc):
    return proc.stderr.strip().splitlines()[-1]


def outputs(ws, family="slp"):
    return {str(p.relative_to(ws)): sha256_file(p) for d in (f"models/{family}", f"reports/train/{family}")
            for p in sorted((ws / d).iterdir())}


@pytest.mark.parametrize("old, new, message", [
    ("lr: 0.01", "lr: -0.01", "params.yaml: slp.lr = -0.01: must be > 0"),
    ("profile: smoke", "profile: tiny", "profile = 'tiny': unknown profile"),
    ("epochs: 3,", "epochs: three,", "slp.epochs = 'three': must be an integer"),
])
def test_bad_params_fail_with_one_line(workspace, old, new, message):
    set_param(workspace, old, new)
    proc = run_stage("train.py", "slp", cwd=workspace)
    assert proc.returncode == 1
    assert message in last_line(proc) and "Traceback" not in proc.stderr


def test_unknown_family(workspace):
    proc = run_stage("train.py", "transformer", cwd=workspace)
    assert proc.returncode == 1
    assert "unknown family 'transformer'" in last_line(proc) and "slp" in last_line(proc)


def test_nan_loss_stops_the_run_and_keeps_the_previous_model(workspace, monkeypatch):
    from reprozoo.config import load_params
    from reprozoo.data import mnist
    from reprozoo.errors import TrainingError
    from reprozoo.runner import StageIO, train_family

    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    before = {p.name: sha256_file(p) for d in ("models/slp", "reports/train/slp")
              for p in (workspace / d).iterdir()}
    real = mnist.to_tensors

    def poisoned(data_dir, split, device="cpu"):
        x, y = real(data_dir, split, device)
        if split == "train":
            x[5, 0, 10, 10] = float("nan")  # one bad pixel is enough to poison the loss
        return x, y

    monkeypatch.setattr(mnist, "to_tensors", poisoned)
    monkeypatch.chdir(workspace)
    io = StageIO(data=Path("data/processed/mnist"), needs=None, model_dir=Path("models/slp"),
                 report_dir=Path("reports/train/slp"), root=workspace)
    with pytest.raises(TrainingError, match="loss became nan at step 1; training stopped and no model was saved"):
        train_family("slp", load_params("params.yaml"), io)
    after = {p.name: sha256_file(p) for d in ("models/slp", "reports/train/slp")
             for p in (workspace / d).iterdir()}
    assert after == before  # the last good model and its figures survive the failed run
    assert not list((workspace / "models").glob(".*")) and not list((workspace / "reports/train").glob(".*"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupted_training_leaves_no_model_and_recovers(workspace, sig):
    proc = start_training_in_loop(workspace)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    model_dir = workspace / "models/cnn"
    assert not (model_dir / "model.pt").exists()
    if sig in (signal.SIGINT, signal.SIGTERM):  # a clean interrupt removes the stage's outputs
        assert not model_dir.exists() and not list((workspace / "models").glob(".*"))
        assert proc.returncode == (130 if sig == signal.SIGINT else 143)
    # The next run starts clean and completes (DVC would also delete the outs first).
    set_param(workspace, "cnn: {arch: cnn, epochs: 40", "cnn: {arch: cnn, epochs: 1")
    done = run_stage("train.py", "cnn", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.pt"]


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, "KILLED"), (signal.SIGKILL, "FAILED")])
def test_an_interrupted_stage_closes_its_mlflow_run(workspace, sig, status):
    """Ctrl-C: the stage sends the run's end (KILLED) to its tracking process, which ignores
    the signal to record it; SIGKILL: the process sees the stage's pipe close (FAILED)."""
    from mlflow.tracking import MlflowClient

    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    proc = start_training_in_loop(workspace)
    # The stage trains without waiting for MLflow's process to open the store: wait here
    # until its run exists (read-only, so as not to race it creating the store's tables).
    db, deadline = workspace / "mlflow.db", time.time() + 60
    while time.time() < deadline:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                if con.execute("select count(*) from runs").fetchone()[0]:
                    break
        except sqlite3.Error:
            pass  # no store or no tables yet
        time.sleep(0.2)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    deadline = time.time() + 60
    while True:
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
        if [r.info.status for r in runs] == [status] or time.time() > deadline:
            break
        time.sleep(0.5)
    assert [r.info.status for r in runs] == [status], (workspace / "train.log").read_text()


def test_checkpoint_from_another_family_or_shape_is_refused(workspace, tmp_path):
    from reprozoo.families.mnist_clf.model import build_model

    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    path = workspace / "models/slp/model.pt"
    with pytest.raises(CheckpointError, match="is for family 'slp', not 'cnn'"):
        checkpoint.load(path, family="cnn", config_cls=ClfConfig)
    ck = checkpoint.load(path, family="slp", config_cls=ClfConfig)
    with pytest.raises(CheckpointError, match="does not fit the model"):
        checkpoint.restore(build_model(ClfConfig(arch="mlp").model_config()), ck.state, path)
    # a broken file, an empty one, a folder: one CheckpointError each, never a traceback
    junk, empty, folder = tmp_path / "junk.pt", tmp_path / "empty.pt", tmp_path / "dir.pt"
    junk.write_bytes(b"not a checkpoint")
    empty.write_bytes(b"")
    folder.mkdir()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for bad in (junk, empty, truncated):
        with pytest.raises(CheckpointError, match="not a readable reprozoo checkpoint"):
            checkpoint.load(bad, family="slp", config_cls=ClfConfig)
    with pytest.raises(CheckpointError, match="is not a file"):
        checkpoint.load(folder, family="slp", config_cls=ClfConfig)


def test_checkpoint_config_is_validated_on_load(tmp_path):
    """A saved config with a missing key, an unknown key or a wrong type: one clear error."""
    import torch

    good = tmp_path / "good.pt"
    checkpoint.save(good, family="slp", config=ClfConfig(arch="slp"), state={})
    assert checkpoint.load(good, family="slp", config_cls=ClfConfig).config == ClfConfig(arch="slp")
    blob = torch.load(good, weights_only=True)
    for change, message in ((lambda c: c.pop("lr"), "lacks key(s) lr"),
                            (lambda c: c.update(speed=3), "unknown key(s) speed"),
                            (lambda c: c.update(epochs="ten"), "epochs = 'ten': must be an integer")):
        bad = tmp_path / "bad.pt"
        b = {**blob, "config": dict(blob["config"])}
        change(b["config"])
        torch.save(b, bad)
        with pytest.raises(CheckpointError, match=re.escape(message)):
            checkpoint.load(bad, family="slp", config_cls=ClfConfig)


def test_evaluate_without_model_says_which_stage_to_run(workspace):
    proc = run_stage("evaluate.py", "slp", cwd=workspace)
    assert proc.returncode == 1 and "dvc repro train@slp" in last_line(proc)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "readonly"])
def test_unusable_tracking_store_fails_fast_in_one_line_and_keeps_the_model(workspace, uri):
    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    assert run_stage("train.py", "slp", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""}).returncode == 0
    model = workspace / "models/slp/model.pt"
    before = sha256_file(model)
    env = {"MLFLOW_TRACKING_URI": uri}
    if uri == "readonly":
        store = workspace / "ro"
        store.mkdir()
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"
        store.chmod(0o500)
    t0 = time.time()
    proc = run_stage("train.py", "slp", cwd=workspace, env=env)
    took = time.time() - t0
    if uri == "readonly":
        store.chmod(0o700)
        if os.geteuid() == 0 and proc.returncode == 0:
            pytest.skip("root writes into a read-only folder")
    assert proc.returncode == 1 and took < 60, (took, proc.stderr)
    line = last_line(proc)
    assert "Traceback" not in proc.stderr and "MLflow store" in line and "enabled: false" in line
    assert sha256_file(model) == before  # the previous model is untouched


# --- params ----------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, message", [
    ("profile: smoke", "profle: smoke", "unknown top-level key 'profle' (did you mean 'profile'?)"),
    ("lr: 0.01", "lr: .inf", "slp.lr = inf: must be a finite number"),
])
def test_stage_refuses_misspelled_and_non_finite_params(workspace, old, new, message):
    set_param(workspace, old, new)
    proc = run_stage("train.py", "slp", cwd=workspace)
    assert proc.returncode == 1, proc.stderr
    assert message in last_line(proc) and "Traceback" not in proc.stderr
    assert not (workspace / "models/slp").exists()


def test_stage_reads_scientific_notation_as_a_number(workspace):
    set_param(workspace, "lr: 0.01", "lr: 1e-2")
    proc = run_stage("train.py", "slp", cwd=workspace)
    assert proc.returncode == 0, proc.stderr


def test_a_diverging_run_fails_and_keeps_the_previous_model(workspace):
    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    before = outputs(workspace)
    set_param(workspace, "lr: 0.01", "lr: 1000000.0")
    proc = run_stage("train.py", "slp", cwd=workspace)
    assert proc.returncode == 1, proc.stderr
    assert "validation loss diverged" in last_line(proc) and "lower the learning rate" in last_line(proc)
    assert "Traceback" not in proc.stderr
    assert outputs(workspace) == before
    assert not list((workspace / "models").glob(".*"))


# --- tracking ---------------------------------------------------------------------------

def test_a_corrupt_tracking_store_fails_fast_and_keeps_the_model(workspace):
    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    store = workspace / "mlflow.db"
    assert run_stage("train.py", "slp", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""}).returncode == 0
    before = outputs(workspace)
    store.write_bytes(b"this is not an sqlite database" * 100)
    t0 = time.time()
    proc = run_stage("train.py", "slp", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""})
    assert proc.returncode == 1 and time.time() - t0 < 60, proc.stderr
    line = last_line(proc)
    assert "Traceback" not in proc.stderr and "mlflow.db" in line and "enabled: false" in line
    assert outputs(workspace) == before


# --- broken checkpoints in the evaluate stage and the CLI ---------------------------------

def _broken(kind: str, good: Path, where: Path) -> Path:
    bad = where / f"{kind}.pt"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "junk":
        bad.write_bytes(b"\x00\x01 not a checkpoint")
    elif kind == "folder":
        bad.mkdir()
    elif kind == "plain torch file":
        torch.save({"weights": torch.zeros(3)}, bad)
    return bad


KINDS = ["truncated", "empty", "junk", "folder", "plain torch file"]


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_stage_on_a_broken_model_is_one_line(workspace, tmp_path, kind):
    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    model = workspace / "models/slp/model.pt"
    bad = _broken(kind, model, tmp_path)
    model.unlink()
    os.replace(bad, model) if kind != "folder" else model.mkdir()
    proc = run_stage("evaluate.py", "slp", cwd=workspace)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "models/slp/model.pt" in last_line(proc)
    assert "dvc repro train@slp" in last_line(proc)  # what to do
    assert not (workspace / "reports/metrics/slp.json").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_cli_on_a_broken_model_is_one_line(tmp_path, capsys, kind):
    good = tmp_path / "good.pt"
    checkpoint.save(good, family="slp", config=ClfConfig(arch="slp"), state={"w": torch.ones(4)})
    bad = _broken(kind, good, tmp_path)
    assert main(["spam", "free money now", "--model", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and str(bad) in err, err


def test_cli_on_a_checkpoint_of_another_family(tmp_path, capsys):
    good = tmp_path / "slp.pt"
    checkpoint.save(good, family="slp", config=ClfConfig(arch="slp"), state={"w": torch.ones(4)})
    assert main(["spam", "free money now", "--model", str(good)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is for family 'slp', not 'nb_spam'" in err, err


# --- text input ---------------------------------------------------------------------------

def test_translate_reports_bad_lines_by_number(monkeypatch):
    from reprozoo.cli.translate import read_input

    data = "とても悲しいです。\n".encode() + b"\xff\xfe bad\n" + "これは\x00料理です。\n".encode() + b"\n" + \
        "海外に行きたい。\n".encode()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data), isatty=lambda: False))
    lines = read_input(types.SimpleNamespace(text="-"))
    assert [(n, problem is None) for n, _, problem in lines] == [(1, True), (2, False), (3, False), (5, True)]
    assert "not UTF-8" in lines[1][2] and "0xff at column 1" in lines[1][2]
    assert "NUL" in lines[2][2]


@pytest.mark.parametrize("text, needle", [("これは\x00料理", "NUL byte"),
                                          ("\udcff\udcfe", "not UTF-8")])
def test_translate_refuses_a_single_bad_sentence_before_loading_anything(tmp_path, capsys, text, needle):
    assert main(["translate", text, "--model", str(tmp_path / "absent.pt")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
