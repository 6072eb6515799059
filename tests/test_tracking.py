"""Tracking never loses results and never leaves runs RUNNING (real MLflow, sqlite store)."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from reprozoo import tracking


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client, exp_id = tracking._client_and_experiment("demo", tmp_path)
    return client, exp_id


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_runs_left_running_by_a_dead_process_are_closed(store):
    client, exp_id = store
    host = socket.gethostname()
    orphan = client.create_run(exp_id, tags={"reprozoo.host": host, "reprozoo.pid": str(dead_pid())})
    mine = client.create_run(exp_id, tags={"reprozoo.host": host, "reprozoo.pid": str(os.getpid())})
    other_host = client.create_run(exp_id, tags={"reprozoo.host": "elsewhere", "reprozoo.pid": "1"})
    assert tracking.close_orphans(client, exp_id) == 1
    status = {r: client.get_run(r.info.run_id).info.status for r in (orphan, mine, other_host)}
    assert status[orphan] == "FAILED" and status[mine] == "RUNNING" and status[other_host] == "RUNNING"


def test_a_tracking_failure_after_the_start_warns_and_goes_on(store, tmp_path, capsys):
    with tracking.training_run("demo", enabled=True, root=tmp_path, stage="train@demo",
                               params={"lr": 1}, tags={}) as tracker:
        tracker.client = None  # the server goes away mid-run
        tracker.log_metrics({"loss": 1.0}, step=1)
        tracker.log_artifact(tmp_path, "x")
    err = capsys.readouterr().err
    assert err.count("warning: MLflow") == 1 and "results are kept" in err


def test_an_interrupted_run_is_closed_as_killed(store, tmp_path):
    client, exp_id = store
    with pytest.raises(KeyboardInterrupt):
        with tracking.training_run("demo", enabled=True, root=tmp_path, stage="train@demo",
                                   params={}, tags={}) as tracker:
            run_id = tracker.run_id
            raise KeyboardInterrupt
    assert client.get_run(run_id).info.status == "KILLED"


def test_parallel_stages_share_a_fresh_sqlite_store(tmp_path, monkeypatch):
    """`dvc queue start -j 2` on a clone without mlflow.db: the stages that open the store
    at once all get it (MLflow's first-use migration is serialized), and the family's
    experiment once."""
    import sys

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code = ("import sys; from pathlib import Path; from reprozoo import tracking; "
            "c, e = tracking._client_and_experiment('demo', Path(sys.argv[1])); "
            "r = c.create_run(e); c.set_terminated(r.info.run_id); print(e)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stdout.read().strip(), p.stderr.read()) for p in procs]
    assert all(rc == 0 for rc, _, _ in results), [err[-500:] for _, _, err in results]
    assert len({out for _, out, _ in results}) == 1  # one experiment
    client, exp_id = tracking._client_and_experiment("demo", tmp_path)
    assert len(client.search_runs([exp_id])) == 2


def test_a_dvc_temporary_workspace_logs_to_the_project(tmp_path, monkeypatch):
    """DVC runs queued experiments in <project>/.dvc/tmp/exps/<tmp>/ and deletes it after:
    the default store is the project's; the git identity is the copy's (baseline + -S)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmpab12cd"
    copy.mkdir(parents=True)
    assert tracking.tracking_uri(copy) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert tracking.tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.chdir(copy)
    assert tracking.checkout_dir(tmp_path) == copy
    monkeypatch.chdir(tmp_path)
    assert tracking.checkout_dir(tmp_path) == tmp_path


# -- the process beside the stage (reprozoo.tracking_process) ------------------------------
def test_the_tracking_process_logs_what_the_stage_sends(store, tmp_path):
    """Params, per-step metrics (NumPy scalars too), tags and artifacts arrive, in order,
    and the run ends FINISHED; the evaluate side finds the run again by its model's hash."""
    import numpy as np

    from reprozoo.io import sha256_file
    from reprozoo.tracking_process import TrackingProcess

    client, _ = store
    model = tmp_path / "model" / "model.pt"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    side = TrackingProcess("demo", tmp_path)
    tracker = side.start_training_run(params={"seed": 0, "demo": {"lr": 0.5}}, tags={"profile": "smoke"})
    for step in (1, 2, 3):
        tracker.log_metrics({"loss": np.float32(1.0 / step), "flag": True}, step=step)
    tracker.set_tags({tracking.MODEL_TAG: sha256_file(model)})
    tracker.log_artifact(model.parent, "model")
    side.end("FINISHED")
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.data.params["lr"] == "0.5"
    assert run.data.tags["profile"] == "smoke" and run.data.tags["reprozoo.pid"] == str(os.getpid())
    from reprozoo.vocabulary import canonical

    history = client.get_metric_history(tracker.run_id, canonical("loss"))
    assert [(m.step, round(m.value, 4)) for m in history] == [(1, 1.0), (2, 0.5), (3, 0.3333)]
    assert "flag" not in run.data.metrics  # booleans are not metrics
    assert [f.path for f in client.list_artifacts(tracker.run_id, "model")] == ["model/model.pt"]

    side = TrackingProcess("demo", tmp_path)
    found = side.find_training_run(model)
    found.log_metrics({"test/accuracy": 0.9})
    side.end()
    assert found.run_id == tracker.run_id
    assert client.get_run(tracker.run_id).data.metrics["test/accuracy"] == 0.9


def test_a_stage_gone_without_a_word_leaves_its_run_failed(store, tmp_path):
    """SIGKILL of the stage: its pipe closes, and the process closes the run as FAILED."""
    from reprozoo.tracking_process import TrackingProcess

    client, _ = store
    side = TrackingProcess("demo", tmp_path)
    side.start_training_run(params={}, tags={})  # not waited for: the stage trains at once
    side.close()  # what the stage's death does to the pipe (before it read the run's ID)
    assert side.proc.returncode == 0
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED"


def test_an_unusable_store_stops_the_stage_at_its_first_report(tmp_path, monkeypatch, capsys):
    from reprozoo.errors import TrackingError
    from reprozoo.tracking_process import TrackingProcess

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    side = TrackingProcess("demo", tmp_path)
    tracker = side.start_training_run(params={}, tags={})  # training starts at once ...
    deadline = time.monotonic() + 120
    with pytest.raises(TrackingError, match=r"http://127\.0\.0\.1:9.*tracking: \{enabled: false\}"):
        while time.monotonic() < deadline:  # ... and its first report after the answer stops it
            tracker.log_metrics({"loss": 1.0}, step=1)
            time.sleep(0.05)
    tracker.log_metrics({"loss": 0.5}, step=2)  # then quiet: no second error, no warning
    side.end("FAILED")
    assert "warning" not in capsys.readouterr().err
    # An evaluate stage's search for its run: the error comes at its first wait.
    side = TrackingProcess("demo", tmp_path)
    found = side.find_training_run(tmp_path / "model.pt")
    with pytest.raises(TrackingError, match=r"http://127\.0\.0\.1:9"):
        found.log_artifact(tmp_path, "eval")
    side.end("FAILED")
