"""Stage scripts end to end on real (tiny) MNIST: outputs, bad input, failures, tracking."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import PIPELINES, run_stage
from reprozoo import checkpoint
from reprozoo.errors import CheckpointError
from reprozoo.families.mnist_clf.config import Config as ClfConfig
from reprozoo.io import read_json, sha256_file


def set_param(ws, old, new):
    p = ws / "params.yaml"
    p.write_text(p.read_text().replace(old, new))


def last_line(proc):
    return proc.stderr.strip().splitlines()[-1]


def test_train_and_evaluate_write_model_metrics_and_figures(workspace):
    for stage in ("train.py", "evaluate.py"):
        proc = run_stage(stage, "slp", cwd=workspace)
        assert proc.returncode == 0, proc.stderr
    ck = checkpoint.load(workspace / "models/slp/model.pt", family="slp", config_cls=ClfConfig)
    assert ck.config.arch == "slp" and ck.state["1.weight"].shape == (10, 784)
    metrics = read_json(workspace / "reports/metrics/slp.json")
    assert 0.6 < metrics["test_accuracy"] <= 1.0 and metrics["n_test"] == 10000
    assert (workspace / "reports/train/slp/history.csv").read_text().startswith("step,train_loss")
    for fig in ("train/slp/learning_curves.png", "eval/slp/confusion_matrix.png",
                "eval/slp/winner_neuron.png"):
        assert (workspace / "reports" / fig).stat().st_size > 1000


def test_identical_inputs_give_identical_outputs(workspace, tmp_path):
    hashes = []
    for _ in range(2):
        assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
        hashes.append({p.name: sha256_file(p) for p in sorted((workspace / "models/slp").iterdir())})
        hashes[-1]["history"] = sha256_file(workspace / "reports/train/slp/history.csv")
        hashes[-1]["curves"] = sha256_file(workspace / "reports/train/slp/learning_curves.png")
    assert hashes[0] == hashes[1]


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
    # Output goes to a file, not an unread pipe: a full pipe would block the child's
    # writes (and its interrupt handling) whatever the code under test does.
    log = workspace / "train.log"
    with open(log, "w") as out:
        # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited
        # SIG_IGN; restore the default so the child gets its KeyboardInterrupt however
        # the test suite itself was started (CI may run it in the background).
        proc = subprocess.Popen([sys.executable, str(PIPELINES / "train.py"), "cnn"], cwd=workspace,
                                stdout=out, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 180
        # the progress line printed when the epoch loop starts ("train cnn: 0/40 ...")
        while "train cnn:" not in log.read_text() and time.time() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(1)  # inside the epoch loop
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


def test_mlflow_run_holds_params_step_metrics_tags_artifacts(workspace):
    from mlflow.tracking import MlflowClient

    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    for stage in ("train.py", "evaluate.py"):
        proc = run_stage(stage, "slp", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""})
        assert proc.returncode == 0, proc.stderr
    client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    exp = client.get_experiment_by_name("reprozoo/slp")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "train@slp"
    assert run.data.params["slp.lr"] == "0.01" and run.data.params["profile"] == "smoke"
    tags = run.data.tags
    for key in ("git.commit", "git.dirty", "params_hash", "device", "torch", "python", "seed",
                "cuda", "profile", "dvc.stage", "reprozoo.model_sha256"):
        assert key in tags, key
    assert tags["reprozoo.model_sha256"] == sha256_file(workspace / "models/slp/model.pt")
    assert tags["data.sha256.data/processed/mnist/x_train.npy"] == sha256_file(
        workspace / "data/processed/mnist/x_train.npy")
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "valid_loss")]
    assert steps == [1, 2, 3]
    assert "test_accuracy" in run.data.metrics  # added by the evaluate stage
    arts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "train", "eval"} <= arts
    # Tracking on or off, the DVC outputs are the same bytes.
    with_tracking = sha256_file(workspace / "models/slp/model.pt")
    set_param(workspace, "tracking: {enabled: true}", "tracking: {enabled: false}")
    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    assert sha256_file(workspace / "models/slp/model.pt") == with_tracking


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
