"""Stage scripts end to end on real (tiny) MNIST: outputs, determinism, tracking (the
failure cases are in test_faults.py)."""

from pathlib import Path

import pytest

from conftest import run_stage
from reprozoo import checkpoint
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
    metrics = read_json(workspace / "reports/metrics/slp.json")  # the headline, by the vocabulary
    assert set(metrics) == {"test/accuracy", "test/loss"} and 0.6 < metrics["test/accuracy"] <= 1.0
    details = read_json(workspace / "reports/eval/slp/details.json")  # the whole evaluation
    assert details["test_accuracy"] == metrics["test/accuracy"] and details["n_test"] == 10000
    assert len(details["per_class_accuracy"]) == 10
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


def test_mlflow_run_holds_params_step_metrics_tags_artifacts(workspace):
    from mlflow.tracking import MlflowClient

    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    for stage in ("train.py", "evaluate.py"):
        proc = run_stage(stage, "slp", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""})
        assert proc.returncode == 0, proc.stderr
    client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    exp = client.get_experiment_by_name("reprozoo")  # one experiment, every family
    (run,) = client.search_runs([exp.experiment_id], filter_string="tags.family = 'slp'")
    assert run.info.status == "FINISHED" and run.info.run_name.startswith("slp · smoke · ")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"  # the ML view, not traces
    # params without the family prefix, so `lr` is one column across families
    assert run.data.params["lr"] == "0.01" and run.data.params["profile"] == "smoke"
    assert not any(k.startswith("slp.") for k in run.data.params)
    # metric names from the one vocabulary: per-epoch at step = epoch, test numbers after evaluate
    assert {"train/loss", "valid/loss", "valid/accuracy", "test/accuracy", "test/loss"} <= set(run.data.metrics)
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "valid/accuracy")]
    # step = epoch; the run's final value (the kept model's) sits at the last epoch
    assert sorted(set(steps)) == list(range(1, max(steps) + 1)) and steps[:-1] == sorted(set(steps))
    tags = run.data.tags
    for key in ("git.commit", "git.dirty", "params_hash", "device", "torch", "python", "seed",
                "cuda", "profile", "dvc.stage", "reprozoo.model_sha256", "env.lock_sha256", "cpu.model",
                "cpu.capability", "cpu.MKL_CBWR", "cpu.ATEN_CPU_CAPABILITY"):
        assert key in tags, key
    assert tags["reprozoo.model_sha256"] == sha256_file(workspace / "models/slp/model.pt")
    # MLflow's own tags fill the run page's Source, Created by and Git commit
    assert tags["mlflow.source.name"] == "pipelines/train.py" or tags["mlflow.source.name"] == "train.py"
    assert tags["mlflow.source.git.commit"] == tags["git.commit"] and tags["mlflow.user"]
    # the input, as an MLflow dataset: its digest is the start of the SHA-256 over its files
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.name == "mnist" and len(inp.dataset.digest) == 32
    import hashlib
    import json
    files = {k[len("data.sha256."):]: v for k, v in tags.items() if k.startswith("data.sha256.")}
    tree = hashlib.sha256("".join(f"{d}  {f}\n" for f, d in sorted(files.items())).encode()).hexdigest()
    assert json.loads(inp.dataset.profile)["sha256"] == tree and inp.dataset.digest == tree[:32]
    assert json.loads(inp.dataset.profile)["fetched"]  # the hashes the fetch stage verified
    assert tags["cpu.MKL_CBWR"] == "AVX2,STRICT" and tags["cpu.capability"] in ("AVX2", "DEFAULT")
    assert tags["data.sha256.data/processed/mnist/x_train.npy"] == sha256_file(
        workspace / "data/processed/mnist/x_train.npy")
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "valid/loss")]
    assert steps == [1, 2, 3]
    assert "test/accuracy" in run.data.metrics  # added by the evaluate stage
    arts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "train", "eval"} <= arts
    # Tracking on or off, the DVC outputs are the same bytes.
    with_tracking = sha256_file(workspace / "models/slp/model.pt")
    set_param(workspace, "tracking: {enabled: true}", "tracking: {enabled: false}")
    assert run_stage("train.py", "slp", cwd=workspace).returncode == 0
    assert sha256_file(workspace / "models/slp/model.pt") == with_tracking


def test_the_model_is_registered_and_the_champion_loads_from_the_registry(workspace, monkeypatch):
    """Issue 13 §3: a pyfunc model per run, registered as reprozoo-<family>; the evaluate
    stage moves the `champion` alias only to a better model; models:/… predicts what the
    family's own loader predicts."""
    import mlflow
    import numpy as np
    import torch
    from mlflow.tracking import MlflowClient

    from reprozoo.families.mnist_clf.evaluate import load_model

    set_param(workspace, "tracking: {enabled: false}", "tracking: {enabled: true}")
    env = {"MLFLOW_TRACKING_URI": ""}
    for stage in ("train.py", "evaluate.py"):
        proc = run_stage(stage, "slp", cwd=workspace, env=env)
        assert proc.returncode == 0, proc.stderr
    assert "champion: reprozoo-slp v1" in proc.stderr
    uri = f"sqlite:///{workspace / 'mlflow.db'}"
    client = MlflowClient(uri)
    assert str(client.get_model_version_by_alias("reprozoo-slp", "champion").version) == "1"
    # A worse model (a learning rate far too small) is registered as v2 but is not crowned.
    set_param(workspace, "lr: 0.01,", "lr: 0.000001,")
    for stage in ("train.py", "evaluate.py"):
        proc = run_stage(stage, "slp", cwd=workspace, env=env)
        assert proc.returncode == 0, proc.stderr
    assert "champion: reprozoo-slp stays v1" in proc.stderr, proc.stderr
    assert {str(v.version) for v in client.search_model_versions("name = 'reprozoo-slp'")} == {"1", "2"}
    assert str(client.get_model_version_by_alias("reprozoo-slp", "champion").version) == "1"
    # The champion loads through MLflow (no pickle: models from code + a weights-only
    # checkpoint) and predicts what v1's checkpoint predicts.
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model("models:/reprozoo-slp@champion")
    assert model.metadata.get_input_schema() is not None  # a signature from the input example
    x = np.load(workspace / "data/processed/mnist/x_test.npy")[:64].reshape(64, 784).astype(np.float32) / 255
    probs = model.predict(x)
    assert probs.shape == (64, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    (ck,) = Path(mlflow.artifacts.download_artifacts("models:/reprozoo-slp/1")).rglob("model.pt")
    with torch.inference_mode():
        ref = torch.softmax(load_model(ck, family="slp")(torch.from_numpy(x).reshape(-1, 1, 28, 28)), 1)
    assert np.allclose(probs, ref.numpy(), atol=1e-6)
    # `reprozoo translate/recommend/spam --model models:/…` resolve a URI the same way
    from reprozoo.errors import ReprozooError
    from reprozoo.serving import model_path
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert model_path("models:/reprozoo-slp@champion").read_bytes() == ck.read_bytes()
    assert model_path("models/slp/model.pt") == Path("models/slp/model.pt")
    with pytest.raises(ReprozooError) as exc:
        model_path("models:/reprozoo-slp@nope")
    assert "models:/reprozoo-slp@nope" in str(exc.value) and uri in str(exc.value)
