"""Team mode against the real services: PostgreSQL, MLflow's server with basic auth, sshd.

Starts them with tools/team.py up (the code `make team-up` runs) once for the module and
stops them with `down` at the end. Skip them with `pytest -m "not team"`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

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


def test_the_viewer_cannot_create_runs(as_user):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from reprozoo import tracking
    from reprozoo.errors import TrackingError

    family = f"teamtest{uuid.uuid4().hex[:8]}"
    as_user("admin")
    MlflowClient().create_experiment(f"reprozoo/{family}")  # the admin's experiment
    as_user("viewer")
    client = MlflowClient()
    exp = client.get_experiment_by_name(f"reprozoo/{family}")  # reading is allowed
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
        tracking._client_and_experiment("slp", REPO)  # the check made before training starts
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
