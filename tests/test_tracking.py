"""Tracking never loses results and never leaves runs RUNNING (real MLflow, sqlite store)."""

from __future__ import annotations

import os
import socket
import subprocess

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
