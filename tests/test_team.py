"""Team mode against the real services: PostgreSQL, MLflow's server with basic auth, sshd.

Starts them with tools/team.py up (the code `make team-up` runs) once for the module and
stops them with `down` at the end. Skip them with `pytest -m "not team"`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import free_port

REPO = Path(__file__).resolve().parents[1]
TEAM_PY = REPO / "tools" / "team.py"
TEAM = REPO / ".team"
BIN = Path(sys.executable).parent

# They share one set of services: `make unit` runs them in a pytest process of their own
# (`-m team`), never split across xdist workers.
pytestmark = [pytest.mark.team, pytest.mark.xdist_group("team")]

# The run logged by test_a_run_is_a_row_in_postgresql, looked for again after down + up.
EARLIER: dict[str, str] = {}


def team(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return subprocess.run([sys.executable, str(TEAM_PY), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def read_env() -> dict[str, str]:
    out = {}
    for line in (TEAM / "env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            out[key] = value
    return out


def secret(name: str) -> str:
    return (TEAM / name).read_text().strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def start() -> dict[str, str]:
    proc = team("up")
    if proc.returncode != 0:
        err = proc.stderr.strip()
        if "Debian packages" in err or "apt-get" in err:
            pytest.skip(f"team services unavailable: {err}")
        pytest.fail(f"tools/team.py up failed: {err}\n{proc.stdout}")
    return read_env()


@pytest.fixture(scope="module")
def services():
    already_up = team("status").returncode == 0  # a user's own services: leave them running
    env = start()
    yield env
    if not already_up:
        proc = team("down")
        assert proc.returncode == 0, proc.stderr


@pytest.fixture
def as_user(monkeypatch, services):
    """Point this process's MLflow client at the server as `user` (password given or from
    .team/<user>_password)."""
    def use(user: str, password: str | None = None) -> str:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", services["MLFLOW_TRACKING_URI"])
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password or secret(f"{user}_password"))
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        return services["MLFLOW_TRACKING_URI"]
    return use


def get(url: str, auth: tuple[str, str] | None = None) -> int:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization",
                       "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_env_file_and_secrets_are_private(services):
    for name in ("env", "admin_password", "viewer_password"):
        assert (TEAM / name).stat().st_mode & 0o777 == 0o600, name
    assert services["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:")
    assert services["MLFLOW_TRACKING_USERNAME"] == "admin"
    assert services["MLFLOW_TRACKING_PASSWORD"] == secret("admin_password")
    assert services["REPROZOO_DVC_REMOTE"] == "team"


def test_rest_api_needs_credentials(services):
    url = services["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert get(url) == 401
    assert get(url, ("admin", "not-the-password")) == 401
    assert get(url, ("admin", services["MLFLOW_TRACKING_PASSWORD"])) == 200
    assert get(url, ("viewer", secret("viewer_password"))) == 200  # viewers may read


def test_a_run_is_a_row_in_postgresql(as_user):
    import psycopg2
    from mlflow.tracking import MlflowClient

    as_user("admin")
    client = MlflowClient()
    exp = client.create_experiment(f"team-test/{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp, run_name="team-test")
    client.log_metric(run.info.run_id, "loss", 0.25, step=3)
    client.set_terminated(run.info.run_id)
    EARLIER.update(run_id=run.info.run_id, experiment_id=exp)
    conn = psycopg2.connect(host="127.0.0.1", port=int(os.environ.get("REPROZOO_TEAM_PG_PORT", 54329)),
                            dbname="mlflow", user="mlflow", password=secret("pg_password"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT status, name FROM runs WHERE run_uuid = %s", (run.info.run_id,))
            assert cur.fetchall() == [("FINISHED", "team-test")]
            cur.execute("SELECT value, step FROM metrics WHERE run_uuid = %s AND key = 'loss'",
                        (run.info.run_id,))
            assert cur.fetchall() == [(0.25, 3)]
    finally:
        conn.close()


def test_an_artifact_comes_back_through_the_server_bit_identical(as_user, tmp_path):
    from mlflow.tracking import MlflowClient

    as_user("admin")
    client = MlflowClient()
    exp = client.create_experiment(f"team-test/{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served, not a client path
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(300_000))
    client.log_artifact(run.info.run_id, str(src), "files")
    client.set_terminated(run.info.run_id)
    back = Path(client.download_artifacts(run.info.run_id, "files/blob.bin", str(tmp_path / "dl")))
    assert back.read_bytes() == src.read_bytes()
    stored = list((TEAM / "artifacts").rglob(f"{run.info.run_id}/artifacts/files/blob.bin"))
    assert len(stored) == 1 and sha256(stored[0]) == sha256(src)
    EARLIER.update(artifact_run=run.info.run_id, artifact_sha=sha256(src))


def test_the_viewer_cannot_create_runs(as_user, monkeypatch):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from reprozoo import tracking
    from reprozoo.errors import TrackingError

    family = f"teamtest{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", f"reprozoo-{family}")
    as_user("admin")
    MlflowClient().create_experiment(f"reprozoo-{family}")  # the admin's experiment
    as_user("viewer")
    client = MlflowClient()
    exp = client.get_experiment_by_name(f"reprozoo-{family}")  # reading is allowed
    with pytest.raises(MlflowException) as raw:
        client.create_run(exp.experiment_id)
    assert "403" in str(raw.value)
    # What reaches a user of a stage: one line naming the URI, the status and the fixes.
    with pytest.raises(TrackingError) as err:
        with tracking.training_run(family, enabled=True, root=REPO, stage="train@x",
                                   params={"a": 1}, tags={}):
            pass
    line = one_line(str(err.value))
    assert "HTTP 403" in line and "127.0.0.1" in line and "enabled: false" in line, line
    assert "viewer" in line


def test_a_wrong_password_is_one_line_401(as_user):
    from reprozoo import tracking
    from reprozoo.errors import TrackingError

    uri = as_user("admin", "this-is-not-the-password")
    t0 = time.time()
    with pytest.raises(TrackingError) as err:
        tracking._client_and_experiment("slp", REPO)  # the check a training stage gets as it starts
    assert time.time() - t0 < 30
    line = one_line(str(err.value))
    assert "HTTP 401" in line and uri in line and "MLFLOW_TRACKING_PASSWORD" in line, line


def test_dvc_push_then_pull_in_a_fresh_clone(services, tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def sh(*cmd: str, cwd: Path) -> subprocess.CompletedProcess:
        exe = str(BIN / "dvc") if cmd[0] == "dvc" else cmd[0]
        proc = subprocess.run([exe, *cmd[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=180)
        assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr[-2000:]}"
        return proc

    # The same remote settings `team.py up` wrote into this clone's .dvc/config.local.
    local = (REPO / ".dvc" / "config.local").read_text()
    settings = dict(line.strip().split(" = ", 1) for line in local.splitlines() if " = " in line)
    origin = tmp_path / "origin"
    origin.mkdir()
    sh("git", "init", "-q", cwd=origin)
    sh("dvc", "init", "-q", cwd=origin)
    data = origin / "blob.bin"
    data.write_bytes(os.urandom(200_000))
    sh("dvc", "add", "-q", "blob.bin", cwd=origin)
    sh("dvc", "remote", "add", "-d", "team", settings["url"], cwd=origin)
    for key in ("keyfile", "user", "port"):
        sh("dvc", "remote", "modify", "team", key, settings[key], cwd=origin)
    sh("git", "add", "-A", cwd=origin)
    sh("git", "commit", "-q", "-m", "data", cwd=origin)
    sh("dvc", "push", "-r", "team", cwd=origin)

    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert not (clone / "blob.bin").exists()
    sh("dvc", "pull", "-r", "team", cwd=clone)
    assert sha256(clone / "blob.bin") == sha256(data)
    assert "up to date" in sh("dvc", "status", cwd=clone).stdout.lower()


# --- `dvc push` faults: unreachable remote, refused key, push killed mid-upload -------------

def dvc_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))},
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def remote_objects(store: Path) -> dict[str, int]:
    """DVC 3's objects on a remote (files/md5/xx/yyyy: name -> size); temporary upload
    files (.<name>.tmp) are not objects."""
    return {f"{f.parent.name}{f.name}": f.stat().st_size
            for f in (store / "files" / "md5").glob("*/*") if f.is_file() and not f.name.startswith(".")}


def test_dvc_push_to_an_unreachable_remote_or_with_a_refused_key_fails_and_counts_nothing(
        services, tmp_path):
    env = dvc_env()

    def sh(*cmd: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        exe = str(BIN / "dvc") if cmd[0] == "dvc" else cmd[0]
        proc = subprocess.run([exe, *cmd[1:]], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=timeout)
        assert not check or proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr[-2000:]}"
        return proc

    local = (REPO / ".dvc" / "config.local").read_text()
    settings = dict(line.strip().split(" = ", 1) for line in local.splitlines() if " = " in line)
    repo, store = tmp_path / "repo", tmp_path / "store"  # the team's sshd, a store of our own
    repo.mkdir()
    sh("git", "init", "-q")
    sh("dvc", "init", "-q")
    blobs = {f"blob{i}.bin": os.urandom(100_000 + i) for i in range(3)}
    for name, data in blobs.items():
        (repo / name).write_bytes(data)
    sh("dvc", "add", "-q", *blobs)
    stranger = tmp_path / "stranger_ed25519"  # a key sshd was never told about
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger))
    url = f"ssh://127.0.0.1{store}"
    remotes = {"good": (settings["port"], settings["keyfile"]),
               "deadport": (str(free_port()), settings["keyfile"]),
               "badkey": (settings["port"], str(stranger))}
    with open(repo / ".dvc" / "config", "a") as f:  # what `dvc remote add/modify` writes
        for name, (port, key) in remotes.items():
            f.write(f"['remote \"{name}\"']\n    url = {url}\n    port = {port}\n"
                    f"    keyfile = {key}\n    user = {settings['user']}\n")

    for name, says in (("deadport", "Connect call failed"), ("badkey", "Permission denied")):
        t0 = time.time()
        proc = sh("dvc", "push", "-r", name, check=False, timeout=120)
        assert proc.returncode != 0 and time.time() - t0 < 60, (name, proc.stderr)
        err = proc.stderr.strip()
        assert err.startswith("ERROR:") and says in err and "Traceback" not in err, (name, err)
        # nothing counted as pushed: every file is still "new" on the remote
        status = sh("dvc", "status", "-c", "-r", "good").stdout
        assert all("new:" in line for line in status.splitlines() if line.strip()), status
        assert sorted(re.findall(r"new:\s+(\S+)", status)) == sorted(blobs), status
        assert remote_objects(store) == {}

    # A push killed mid-upload (SIGKILL: no cleanup) leaves only DVC's temporary file
    # (.<name>.tmp, renamed into place once complete): `dvc status -c` still says "new",
    # and the next push uploads the whole file.
    big = repo / "big.bin"
    with open(big, "wb") as f:
        for _ in range(24):
            f.write(os.urandom(8 << 20))  # 192 MiB: the upload takes a few seconds on loopback
    sh("dvc", "add", "-q", "big.bin")
    big_md5 = (repo / "big.bin.dvc").read_text().split("md5: ")[1].split()[0]
    log = tmp_path / "push.log"
    with open(log, "w") as out:
        push = subprocess.Popen([str(BIN / "dvc"), "push", "-r", "good", "big.bin"], cwd=repo,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.time() + 120
        partial = []
        while not partial:
            assert push.poll() is None, f"the push ended before it could be killed: {log.read_text()}"
            assert time.time() < deadline, log.read_text()
            partial = [f for f in (store / "files" / "md5").glob(f"{big_md5[:2]}/.*")
                       if f.is_file() and f.stat().st_size > 0]
            time.sleep(0.01)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(push.pid, signal.SIGKILL)  # the push and only its own children
        push.wait(timeout=30)
    assert big_md5 not in remote_objects(store), remote_objects(store)
    assert "big.bin" in re.findall(r"new:\s+(\S+)", sh("dvc", "status", "-c", "-r", "good").stdout)
    proc = sh("dvc", "push", "-r", "good")
    assert f"{len(blobs) + 1} files pushed" in proc.stdout, proc.stdout
    assert "are in sync" in sh("dvc", "status", "-c", "-r", "good").stdout
    cache = repo / ".dvc" / "cache" / "files" / "md5"
    objects = remote_objects(store)
    assert len(objects) == len(blobs) + 1
    for oid in objects:
        assert sha256(store / "files" / "md5" / oid[:2] / oid[2:]) == sha256(cache / oid[:2] / oid[2:]), oid


# --- parallel experiments: DVC's queue, one MLflow run per experiment -----------------------

SWEEP_LRS = ("0.001", "0.003", "0.01")
# One thread per stage (the CPU pins' default is 2; a variable already set wins): two
# workers then share two cores instead of four spinning threads. These tests are about
# the services, not the numbers.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
SWEEP_TIMEOUT = float(os.environ.get("REPROZOO_SWEEP_TIMEOUT", "900"))


def snapshot_clone(dest: Path) -> str:
    """A `git clone` of this checkout with its working tree (uncommitted changes, new files
    that are not ignored) committed on top, so the queue runs the code under test; the
    clone's .venv is this checkout's. Returns the clone's HEAD."""
    env = dvc_env()

    def git(*args: str, cwd: Path) -> str:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc.stdout.decode(errors="replace")

    git("clone", "-q", str(REPO), str(dest), cwd=dest.parent)
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for rel in sorted(set(filter(None, listed.split("\0")))):
        src, dst = REPO / rel, dest / rel
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif not src.exists() and dst.is_file():
            dst.unlink()  # deleted in the working tree
    git("add", "-A", cwd=dest)
    git("commit", "-q", "--allow-empty", "-m", "the working tree under test", cwd=dest)
    (dest / ".venv").symlink_to(BIN.parent)
    with open(dest / ".git" / "info" / "exclude", "a") as f:
        f.write("/.venv\n")
    return git("rev-parse", "HEAD", cwd=dest).strip()


def test_a_queued_sweep_runs_two_at_a_time_one_mlflow_run_per_experiment(services, mirror,
                                                                        as_user, tmp_path):
    from mlflow.tracking import MlflowClient

    clone = tmp_path / "clone"
    commit = snapshot_clone(clone)
    env = {**dvc_env(), "REPROZOO_DATA_MIRROR": str(mirror), **ONE_THREAD,
           **{k: services[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
                                       "MLFLOW_TRACKING_PASSWORD")}}

    def dvc(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN / "dvc"), *args], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=timeout)
        assert not check or proc.returncode == 0, f"dvc {' '.join(args)}: {proc.stderr[-2000:]}"
        return proc

    # The smoke profile's data, once (DVC's run cache then serves it to every experiment,
    # as in a workspace where the pipeline has run before); params.yaml and dvc.lock stay
    # as committed.
    params = (clone / "params.yaml").read_text()
    (clone / "params.yaml").write_text(re.sub(r"(?m)^profile: \w+", "profile: smoke", params, count=1))
    dvc("repro", "prepare@mnist", timeout=600)
    subprocess.run(["git", "checkout", "-q", "--", "params.yaml", "dvc.lock"], cwd=clone, check=True)

    for lr in SWEEP_LRS:
        dvc("exp", "run", "--queue", "-S", "profile=smoke", "-S", f"slp.lr={lr}", "train@slp")
    t0 = time.time()
    try:
        # The workers it starts keep its stdout and stderr open: a file, not a pipe to wait on.
        with open(tmp_path / "queue-start.log", "w") as out:
            started = subprocess.run([str(BIN / "dvc"), "queue", "start", "-j", "2"], cwd=clone,
                                     env=env, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, timeout=120)
        assert started.returncode == 0, (tmp_path / "queue-start.log").read_text()
        while True:
            status = dvc("queue", "status").stdout
            if not re.search(r"\b(Queued|Running)\b", status):
                took = time.time() - t0
                break
            assert time.time() - t0 < SWEEP_TIMEOUT, f"the sweep did not finish: {status}"
            time.sleep(3)
    finally:
        # Only this clone's queue: its workers (they exit by themselves once the queue is
        # empty) and, after a timeout, its running experiments.
        dvc("queue", "stop", "--kill", check=False, timeout=60)
        end = time.time() + 60
        while "0 active, 0 idle" not in dvc("queue", "status", check=False).stdout \
                and time.time() < end:
            time.sleep(2)

    shown = json.loads(dvc("exp", "show", "--json").stdout)
    exps = {}  # DVC experiment name -> (state, slp.lr)
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            data = exp["revs"][0].get("data") or {}
            lr = data.get("params", {}).get("params.yaml", {}).get("data", {}).get("slp", {}).get("lr")
            exps[exp["name"]] = ((exp.get("executor") or {}).get("state"), lr)
    logs = {n: dvc("queue", "logs", n, check=False).stdout[-1500:] for n, (st, _) in exps.items()
            if st != "success"}
    assert len(exps) == 3 and not logs, (exps, logs)
    assert sorted(float(lr) for _, lr in exps.values()) == sorted(float(v) for v in SWEEP_LRS)
    assert sorted(dvc("exp", "list", "--name-only").stdout.split()) == sorted(exps)
    assert not (clone / "mlflow.db").exists()  # every run went to the server

    as_user("admin")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("reprozoo")
    runs = client.search_runs([experiment.experiment_id],
                              filter_string=f"tags.`git.commit` = '{commit}' and tags.family = 'slp'")
    runs = [r for r in runs if r.data.tags.get("dvc.exp_name") in exps]
    by_name = {r.data.tags.get("dvc.exp_name"): r for r in runs}
    assert len(runs) == 3 and set(by_name) == set(exps), [r.data.tags for r in runs]
    for name, run in by_name.items():
        assert run.info.status == "FINISHED", (name, run.info)
        assert float(run.data.params["lr"]) == float(exps[name][1])
        assert run.data.params["profile"] == "smoke" and run.data.tags["dvc.stage"] == "train@slp"
        # the identity of the code that ran: the baseline commit plus the experiment's
        # -S changes, read in DVC's temporary copy (not the clone's clean workspace)
        assert run.data.tags["git.dirty"] == "true"
        assert "model/model.pt" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    # -j 2: two of them ran at the same time
    spans = sorted((r.info.start_time, r.info.end_time) for r in runs)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), spans
    print(f"sweep of 3 on the queue with -j 2: {took:.0f} s")


# --- the MLflow server killed under a running stage ----------------------------------------

def kill_mlflow_server() -> None:
    """SIGKILL the server that `team.py up` started (its process group: the workers too)."""
    pid = int((TEAM / "mlflow.pid").read_text().split()[0])
    assert str(TEAM) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    os.killpg(pid, signal.SIGKILL)
    end = time.time() + 30
    while True:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        assert time.time() < end, "the MLflow server survived SIGKILL"
        time.sleep(0.1)


def pg(query: str, *args) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=int(os.environ.get("REPROZOO_TEAM_PG_PORT", 54329)),
                            dbname="mlflow", user="mlflow", password=secret("pg_password"))
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


def test_a_server_killed_mid_run_is_named_and_its_run_closed_as_failed_by_up(services,
                                                                           workspace):
    from reprozoo.families.mnist_clf.config import Config as ClfConfig

    from reprozoo import checkpoint

    params = workspace / "params.yaml"
    text = params.read_text()
    for old, new in (("tracking: {enabled: false}", "tracking: {enabled: true}"),
                     ("slp: {arch: slp, epochs: 3, batch_size: 64, lr: 0.01, patience: 5}",
                      "slp: {arch: slp, epochs: 100, batch_size: 64, lr: 0.001, patience: 100}")):
        assert old in text
        text = text.replace(old, new)
    params.write_text(text)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **ONE_THREAD,
           **{k: services[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
                                       "MLFLOW_TRACKING_PASSWORD")}}
    uri = services["MLFLOW_TRACKING_URI"]
    log = workspace / "train.log"
    with open(log, "w") as out:
        stage = subprocess.Popen([sys.executable, str(REPO / "pipelines" / "train.py"), "slp"],
                                 cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # mid-run: the run exists on the server and has logged its first epochs
        deadline, run_id = time.time() + 120, None
        while True:
            assert stage.poll() is None, log.read_text()
            assert time.time() < deadline, log.read_text()
            rows = pg("SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                      "WHERE t.key = 'reprozoo.pid' AND t.value = %s AND r.status = 'RUNNING' "
                      "AND EXISTS (SELECT 1 FROM metrics m WHERE m.run_uuid = r.run_uuid)",
                      str(stage.pid))
            if rows:
                run_id = rows[0][0]
                break
            time.sleep(0.1)
        kill_mlflow_server()
        killed = time.time()
        while "warning: MLflow" not in log.read_text() and stage.poll() is None:
            assert time.time() - killed < 30, log.read_text()
            time.sleep(0.1)
        warned = time.time() - killed
        stage.wait(timeout=300)
    finally:
        if stage.poll() is None:
            stage.kill()
            stage.wait()
    out = log.read_text()
    # Results first (README "Tracking"): the stage ends normally with its model, and says
    # within seconds which store it lost and that the run stays RUNNING there.
    assert stage.returncode == 0, out
    warnings = [ln for ln in out.splitlines() if ln.startswith("warning: MLflow")]
    assert warnings and warned < 30 and all(uri in ln for ln in warnings), (warned, warnings)
    assert any(run_id in ln and "RUNNING" in ln and "team-up" in ln for ln in warnings), warnings
    assert "Traceback" not in out
    checkpoint.load(workspace / "models/slp/model.pt", family="slp", config_cls=ClfConfig)
    assert pg("SELECT status FROM runs WHERE run_uuid = %s", run_id) == [("RUNNING",)]

    # The next `up` restarts the server and closes the orphan as FAILED (its process is gone).
    proc = team("up")
    assert proc.returncode == 0, proc.stderr
    assert run_id in proc.stdout and "left RUNNING" in proc.stdout, proc.stdout
    assert pg("SELECT status FROM runs WHERE run_uuid = %s", run_id) == [("FAILED",)]
    assert pg("SELECT value FROM tags WHERE run_uuid = %s AND key = 'reprozoo.closed_by'",
              run_id) == [("tools/team.py up: its process is gone",)]
    assert team("status").returncode == 0  # the services are back for the tests after this



def test_up_says_which_port_is_taken(services):
    proc = team("down")
    assert proc.returncode == 0, proc.stderr
    assert team("status").returncode == 3
    port = int(services["MLFLOW_TRACKING_URI"].rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        proc = team("up")
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert f"port {port}" in line and "MLflow server" in line, line
    assert team("status").returncode == 3  # nothing was started


def test_down_then_up_keeps_every_run(as_user, tmp_path):
    from mlflow.tracking import MlflowClient

    start()  # after the previous test's `down`
    assert team("status").returncode == 0
    if not EARLIER.get("run_id"):
        pytest.skip("no earlier run (test_a_run_is_a_row_in_postgresql did not run)")
    as_user("admin")
    client = MlflowClient()
    run = client.get_run(EARLIER["run_id"])
    assert run.info.status == "FINISHED" and run.data.metrics == {"loss": 0.25}
    if EARLIER.get("artifact_run"):
        back = client.download_artifacts(EARLIER["artifact_run"], "files/blob.bin", str(tmp_path))
        assert sha256(Path(back)) == EARLIER["artifact_sha"]
    url = read_env()["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/users/get?username=viewer"
    assert get(url, ("admin", secret("admin_password"))) == 200  # the accounts survive too
