"""Tracking never loses results and never leaves runs RUNNING (real MLflow, sqlite store)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

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


# -- the warm MLflow process that forks each stage's tracking process (reprozoo.tracking_warm)
@pytest.fixture
def warm(tmp_path, monkeypatch):
    """A warm process of this test's own (an MLFLOW_* setting read at import is part of its
    key); returns a function giving its PID from its lock file; killed at the end."""
    from reprozoo import tracking_warm

    monkeypatch.setenv("MLFLOW_REPROZOO_TEST_KEY", str(tmp_path))
    monkeypatch.setenv("REPROZOO_MLFLOW_WARM_S", "60")
    sock, lock = tracking_warm.address(os.environ)
    seen: set[int] = set()

    def pid(wait: float = 30) -> int | None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            text = Path(lock).read_text().strip() if Path(lock).exists() else ""
            if text and alive(int(text)):
                seen.add(int(text))
                return int(text)
            time.sleep(0.05)
        return None

    pid.sock, pid.lock = sock, lock
    yield pid
    for p in seen:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for f in (sock, lock, tracking_warm._log(sock)):
        Path(f).unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def one_run(root: Path, loss: float) -> tuple[Any, str]:
    """A stage's tracking, start to end, through TrackingProcess; (its process, run ID)."""
    from reprozoo.tracking_process import TrackingProcess

    side = TrackingProcess("demo", root)
    tracker = side.start_training_run(params={"seed": 0}, tags={})
    tracker.log_metrics({"loss": loss}, step=1)
    side.end("FINISHED")
    return side.proc, tracker.run_id


def test_stages_share_one_warm_process_and_keep_their_own_store(warm, tmp_path, monkeypatch):
    """Two stages, two stores (MLFLOW_TRACKING_URI differs): both forked from one warm
    process, and each run lands in its own stage's store, not in the other's."""
    from mlflow import MlflowClient

    from reprozoo.tracking_warm import Forked

    uris = [f"sqlite:///{tmp_path / name / 'mlflow.db'}" for name in ("a", "b")]
    runs, pids = [], []
    for uri, loss in zip(uris, (1.0, 2.0)):
        (tmp_path / uri.split("/")[-2]).mkdir()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        proc, run_id = one_run(tmp_path, loss)
        assert isinstance(proc, Forked) and proc.returncode == 0
        runs.append(run_id)
        pids.append(warm())
    assert pids[0] is not None and pids[0] == pids[1]
    for uri, run_id, loss, other in zip(uris, runs, (1.0, 2.0), runs[::-1]):
        client = MlflowClient(uri)
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED" and run.data.metrics[canonical_loss()] == loss
        found = client.search_runs([e.experiment_id for e in client.search_experiments()])
        assert other not in {r.info.run_id for r in found}


def canonical_loss() -> str:
    from reprozoo.vocabulary import canonical

    return canonical("loss")


def test_a_warm_process_leaves_when_idle_and_one_killed_outright_is_replaced(store, warm, tmp_path, monkeypatch):
    """(`store` first: opening it in this process sets MLFLOW_* defaults, part of the key.)"""
    client, _ = store
    monkeypatch.setenv("REPROZOO_MLFLOW_WARM_S", "1")
    one_run(tmp_path, 1.0)
    first = warm()
    assert first is not None
    deadline = time.monotonic() + 60  # idle for 1 s: it removes its socket and ends
    while (alive(first) or Path(warm.sock).exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(first) and not Path(warm.sock).exists()

    monkeypatch.setenv("REPROZOO_MLFLOW_WARM_S", "60")
    one_run(tmp_path, 2.0)
    second = warm()
    assert second not in (None, first)
    os.kill(second, signal.SIGKILL)  # its socket file stays behind, with nobody listening
    try:
        os.waitpid(second, 0)  # (this process started it) all of it gone, not just its leader
    except ChildProcessError:
        pass  # reaped already by subprocess's clean-up
    assert Path(warm.sock).exists()
    proc, run_id = one_run(tmp_path, 3.0)
    assert proc.returncode == 0 and client.get_run(run_id).info.status == "FINISHED"
    assert warm() not in (None, second)


def test_a_warm_process_that_drops_the_stage_leaves_it_to_a_started_one(store, warm, tmp_path, capfd):
    """Something listens on the socket but ends each connection unanswered (a warm process
    dying as the stage connects): the stage starts its own process, sends it everything
    again, and its run ends FINISHED with every metric."""
    import threading

    from reprozoo.tracking_process import TrackingProcess
    from reprozoo.tracking_warm import Forked

    client, _ = store
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(warm.sock)
    listener.listen(8)

    def drop() -> None:
        conn, _ = listener.accept()
        conn.recv(1)
        time.sleep(0.5)  # the stage has sent its run's start and a few metrics by now
        conn.close()

    dropper = threading.Thread(target=drop)
    dropper.start()
    side = TrackingProcess("demo", tmp_path)
    assert isinstance(side.proc, Forked)
    tracker = side.start_training_run(params={"seed": 0}, tags={})
    for step in (1, 2, 3):
        tracker.log_metrics({"loss": 1.0 / step}, step=step)
    dropper.join()
    tracker.log_artifact(tmp_path / "mlflow.db", "store")  # waits: the run's start first
    side.end("FINISHED")
    listener.close()
    assert isinstance(side.proc, subprocess.Popen)
    assert "this stage starts its own tracking process" in capfd.readouterr().err
    run = client.get_run(tracker.run_id)
    history = client.get_metric_history(tracker.run_id, canonical_loss())
    assert run.info.status == "FINISHED" and [m.step for m in history] == [1, 2, 3]


def test_a_stage_killed_with_replies_unread_leaves_its_forked_run_failed(store, warm, tmp_path):
    """SIGKILL of a stage whose forked process has already replied: the unread reply makes
    its socket reset, not close, and the process still closes the run as FAILED."""
    import select

    from reprozoo.tracking_process import TrackingProcess
    from reprozoo.tracking_warm import Forked

    client, _ = store
    side = TrackingProcess("demo", tmp_path)
    assert isinstance(side.proc, Forked)
    side.start_training_run(params={}, tags={})
    assert select.select([side.proc.sock], [], [], 60)[0]  # the run's start answered, unread
    for f in (side.proc.stdin, side.proc.stdout):
        f.close()
    side.proc.sock.close()  # what the stage's death does: unread data, so a reset
    deadline = time.monotonic() + 60
    runs: list = []
    while time.monotonic() < deadline:
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
        if runs and runs[0].info.status != "RUNNING":
            break
        time.sleep(0.1)
    assert [r.info.status for r in runs] == ["FAILED"]


def test_a_second_warm_process_for_the_same_socket_steps_aside(warm):
    """The lock file decides: a process started while one holds it exits at once."""
    import sys

    from reprozoo import tracking_warm

    first = subprocess.Popen([sys.executable, tracking_warm.__file__, warm.sock, warm.lock, "60"],
                             start_new_session=True)
    pid = warm()
    assert pid == first.pid
    second = subprocess.run([sys.executable, tracking_warm.__file__, warm.sock, warm.lock, "60"],
                            timeout=60)
    assert second.returncode == 0 and alive(first.pid) and warm() == first.pid
    first.kill()
    first.wait()


def test_the_warm_process_can_be_turned_off_and_says_what_a_bad_setting_is(tmp_path, monkeypatch):
    from reprozoo.tracking_process import TrackingProcess

    monkeypatch.setenv("REPROZOO_MLFLOW_WARM_S", "0")
    side = TrackingProcess("demo", tmp_path)
    assert isinstance(side.proc, subprocess.Popen)  # started by the stage, as before
    side.close()
    from reprozoo.errors import TrackingError  # a stage prints it as one line

    monkeypatch.setenv("REPROZOO_MLFLOW_WARM_S", "soon")
    with pytest.raises(TrackingError, match=r"REPROZOO_MLFLOW_WARM_S='soon'.*0 turns"):
        TrackingProcess("demo", tmp_path)
