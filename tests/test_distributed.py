"""Multi-process training inside a stage (torchrun + DDP, reprozoo/distributed.py).

Real stages on real data (800 MNIST training images; 1,200 Tatoeba pairs), 2 processes on
CPU (gloo): deterministic run to run, close to the 1-process result, one MLflow run with
rank 0's per-epoch metrics, only the stage process writes outputs, and a failure on any
rank (or a Ctrl-C / SIGTERM of the stage) leaves no partial output and no process behind.
"""

from __future__ import annotations

import csv
import signal
import time
from pathlib import Path

import pytest

from conftest import run_stage, start_training_in_loop
from reprozoo.io import sha256_file

CNN = "cnn: {arch: cnn, epochs: 40, batch_size: 32, lr: 0.001, patience: 40}"


def set_cnn(ws: Path, **kw) -> None:
    p = ws / "params.yaml"
    text = p.read_text()
    assert CNN in text or "cnn: {arch: cnn, epochs: " in text
    lines = [ln for ln in text.splitlines() if not ln.startswith("cnn: {arch")]
    opts = {"arch": "cnn", "epochs": 40, "batch_size": 32, "lr": 0.001, "patience": 40, **kw}
    lines.append("cnn: {" + ", ".join(f"{k}: {v}" for k, v in opts.items()) + "}")
    p.write_text("\n".join(lines) + "\n")


def history(ws: Path, family: str) -> list[dict[str, str]]:
    with open(ws / "reports/train" / family / "history.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in out:
                    out.add(k)
                    todo.append(k)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_two_processes_are_deterministic_close_to_one_and_log_one_run(workspace):
    set_cnn(workspace, epochs=2, nproc=2)
    runs = []
    for k in range(2):
        proc = run_stage("train.py", "cnn", cwd=workspace)
        assert proc.returncode == 0, proc.stderr
        assert "training on 2 processes: torchrun --standalone --nproc_per_node=2" in proc.stderr
        runs.append(sha256_file(workspace / "models/cnn/model.pt"))
        # the stage process alone wrote the outputs: one model, one history of 2 epochs
        assert sorted(p.name for p in (workspace / "models/cnn").iterdir()) == ["model.pt"]
        assert [r["step"] for r in history(workspace, "cnn")] == ["1", "2"]
    assert runs[0] == runs[1]  # 2 processes, run to run: the same bits
    two = float(history(workspace, "cnn")[-1]["valid_acc"])

    set_cnn(workspace, epochs=2, nproc=1)
    proc = run_stage("train.py", "cnn", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert "training on" not in proc.stderr
    one = float(history(workspace, "cnn")[-1]["valid_acc"])
    # the same global batches, split in two: the 2-epoch accuracy on 200 valid images
    # stays within 5 points of the 1-process run (reports/bench/ddp.json: the default data)
    assert abs(two - one) <= 0.05, (one, two)


def test_two_process_run_is_one_mlflow_run_with_rank0_metrics(workspace):
    import mlflow

    p = workspace / "params.yaml"
    p.write_text(p.read_text().replace("tracking: {enabled: false}", "tracking: {enabled: true}"))
    set_cnn(workspace, epochs=2, nproc=2)
    proc = run_stage("train.py", "cnn", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    client = mlflow.MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    exps = [e for e in client.search_experiments() if e.name != "Default"]
    runs = [r for e in exps for r in client.search_runs([e.experiment_id])]
    assert len(runs) == 1  # the ranks log nothing themselves
    run = runs[0]
    assert run.info.status == "FINISHED" and run.data.params["nproc"] == "2"
    # per epoch (steps 1, 2), as rank 0 measured them (the final numbers sit at the last step)
    logged = client.get_metric_history(run.info.run_id, "valid/accuracy")
    rows = history(workspace, "cnn")
    assert sorted({m.step for m in logged}) == [1, 2] == [int(r["step"]) for r in rows]
    for r in rows:
        assert any(m.step == int(r["step"]) and m.value == pytest.approx(float(r["valid_acc"]), rel=1e-5)
                   for m in logged), (r, logged)


def test_vae_and_mlp_train_on_two_processes(workspace):
    p = workspace / "params.yaml"
    text = p.read_text()
    text = text.replace("families:\n", "families:\n  vae: {kind: vae, data: data/processed/mnist}\n"
                        "  mlp: {kind: mnist_clf, data: data/processed/mnist}\n")
    text += ("vae: {epochs: 2, batch_size: 64, latent2_epochs: 1, iwae_k: 5, iwae_limit: 50, nproc: 2}\n"
             "mlp: {arch: mlp, hidden: 64, epochs: 2, batch_size: 64, lr: 0.001, dropout: 0.2, nproc: 2}\n")
    p.write_text(text)
    for family, cols in (("vae", {"train_loss", "valid_loss", "train_loss_latent2"}),
                         ("mlp", {"train_loss", "valid_acc"})):
        proc = run_stage("train.py", family, cwd=workspace)
        assert proc.returncode == 0, proc.stderr
        assert "nproc_per_node=2" in proc.stderr
        rows = history(workspace, family)
        assert len(rows) == 2 and cols <= set(rows[0])
        assert all(float(v) == float(v) for r in rows for k, v in r.items() if v)  # no NaN


def test_a_failing_rank_fails_the_stage_with_its_message_and_keeps_the_old_model(workspace):
    set_cnn(workspace, epochs=1)
    assert run_stage("train.py", "cnn", cwd=workspace).returncode == 0
    before = sha256_file(workspace / "models/cnn/model.pt")
    set_cnn(workspace, epochs=1, nproc=2)
    proc = run_stage("train.py", "cnn", cwd=workspace, env={"REPROZOO_DDP_FAIL_RANK": "1"})
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ("error: distributed training failed on rank 1 of 2: failure injected by "
                    "REPROZOO_DDP_FAIL_RANK=1"), proc.stderr
    assert "Traceback" not in proc.stderr and "ChildFailedError" not in proc.stderr
    assert sha256_file(workspace / "models/cnn/model.pt") == before
    assert not list((workspace / "models").glob(".*")) and not list((workspace / "reports/train").glob(".*"))


def test_more_processes_than_examples_per_batch_is_refused(workspace):
    set_cnn(workspace, epochs=1, batch_size=2, nproc=3)
    proc = run_stage("train.py", "cnn", cwd=workspace)
    assert proc.returncode == 1
    assert "nproc = 3 but batch_size = 2" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopping_the_stage_stops_every_rank_and_leaves_nothing(workspace, sig, code):
    set_cnn(workspace, epochs=40, nproc=2)
    proc = start_training_in_loop(workspace)
    kids = descendants(proc.pid)
    assert len(kids) >= 3, kids  # torchrun's launcher and its two ranks
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert proc.returncode == code, (workspace / "train.log").read_text()
    deadline = time.time() + 30
    while any(alive(k) for k in kids) and time.time() < deadline:
        time.sleep(0.2)
    assert not [k for k in kids if alive(k)]
    assert not (workspace / "models/cnn").exists() and not list((workspace / "models").glob(".*"))


TATOEBA_PARAMS = """\
profile: smoke
seed: 0
device: cpu
tracking: {enabled: false}
fetch: {mnist_variant: mnist-5k}
prepare:
  tatoeba: {valid_fraction: 0.05, test_fraction: 0.05, min_freq_ja: 1, min_freq_en: 1, limit: 1200}
families:
  seq2seq: {kind: seq2seq, data: data/processed/tatoeba}
seq2seq: {embed: 16, hidden: 24, epochs: 1, batch_size: 32, beam: 1, valid_limit: 40,
          decode_max_len: 10, max_len: 12, nproc: 2}
"""


def test_seq2seq_trains_on_two_processes_deterministically(tmp_path, mirror):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "params.yaml").write_text(TATOEBA_PARAMS)
    env = {"REPROZOO_DATA_MIRROR": str(mirror)}
    for script in ("fetch.py", "prepare.py"):
        proc = run_stage(script, "tatoeba", cwd=ws, env=env)
        assert proc.returncode == 0, proc.stderr
    hashes = []
    for _ in range(2):
        proc = run_stage("train.py", "seq2seq", cwd=ws)
        assert proc.returncode == 0, proc.stderr
        assert "nproc_per_node=2" in proc.stderr
        hashes.append(sha256_file(ws / "models/seq2seq/model.pt"))
        rows = history(ws, "seq2seq")
        assert len(rows) == 1 and {"train_loss", "valid_loss", "valid_bleu"} <= set(rows[0])
    assert hashes[0] == hashes[1]


@pytest.mark.parametrize("world", [1, 2, 3])
def test_steps_counts_the_batches_every_rank_gets_a_share_of(world):
    """`Group.steps` (what a per-batch cosine schedule spans) against its meaning, counted
    with `Group.part`: a batch is stepped on only when no rank's share of it is empty (the
    end-to-end check, lr ~0 at the last batch, is in test_mnist_clf and test_vae)."""
    from reprozoo.distributed import Group

    for n, bs in [(10, 4), (12, 4), (9, 4), (1, 4), (64, 64), (65, 64), (5400, 128)]:
        items = list(range(n))
        shared = sum(all(Group(r, world).part(items[i:i + bs]) for r in range(world))
                     for i in range(0, n, bs))
        assert Group(0, world).steps(n, bs) == shared
    assert Group(0, 3).steps(10, 4) == 2  # batches of 4, 4 and 2: the last is too small for 3 ranks
    assert Group(0, 1).steps(10, 4) == 3
