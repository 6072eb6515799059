#!/usr/bin/env python3
"""Team mode: a shared MLflow tracking server and a DVC artifact remote, as local processes.

    python tools/team.py up       # (make team-up) install what is missing, start, write .team/env;
                                  # close the runs left RUNNING by processes of this host that are gone
    python tools/team.py status   # what runs, where
    python tools/team.py down     # (make team-down) stop everything; no data is lost
    python tools/team.py lock     # re-resolve requirements-team.lock (pip-tools, with hashes)

Everything lives in <repo>/.team/ (git-ignored):

    pg/            PostgreSQL cluster (owned by the `postgres` OS user when run as root);
                   databases `mlflow` (runs) and `mlflow_auth` (basic-auth users), role `mlflow`
    artifacts/     the artifacts the MLflow server stores and serves (--artifacts-destination)
    ssh/           sshd config, its host key, the client key made for it, authorized_keys
    dvc-store/     the DVC remote `team` (ssh://127.0.0.1:2222/<repo>/.team/dvc-store)
    env            `source .team/env`: MLFLOW_TRACKING_URI / _USERNAME / _PASSWORD (mode 0600)
    admin_password, viewer_password, pg_password, ...   generated secrets (mode 0600)
    *.log          one log per service

Services: PostgreSQL on 127.0.0.1:54329, `mlflow server --app-name basic-auth` on
127.0.0.1:5050 (admin account `admin`, read-only account `viewer`), sshd on 127.0.0.1:2222
(key login only, for the user running this). Ports: REPROZOO_TEAM_PG_PORT,
REPROZOO_TEAM_MLFLOW_PORT, REPROZOO_TEAM_SSH_PORT; REPROZOO_TEAM_HOST (default 127.0.0.1)
is the address the MLflow server and sshd bind to, REPROZOO_TEAM_PUBLIC_HOST the one written
into .team/env and the DVC remote (default: the bind address, or this host's name when the
bind address is 0.0.0.0). PostgreSQL always stays on 127.0.0.1.

Every failure is one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import importlib
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEAM = REPO / ".team"
LOCK = REPO / "requirements-team.lock"
BIN = Path(sys.executable).parent

HOST = os.environ.get("REPROZOO_TEAM_HOST", "127.0.0.1")
PUBLIC_HOST = os.environ.get("REPROZOO_TEAM_PUBLIC_HOST") or (
    socket.getfqdn() if HOST in ("0.0.0.0", "::") else HOST)
PG_HOST = "127.0.0.1"


def _port(var: str, default: int) -> int:
    raw = os.environ.get(var, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"team: error: {var}={raw!r} is not a TCP port number")
    return int(raw)


PG_PORT = _port("REPROZOO_TEAM_PG_PORT", 54329)
MLFLOW_PORT = _port("REPROZOO_TEAM_MLFLOW_PORT", 5050)
SSH_PORT = _port("REPROZOO_TEAM_SSH_PORT", 2222)

DEBIAN_PACKAGES = ["postgresql", "openssh-server"]
# What requirements-team.lock is compiled from (`python tools/team.py lock`); module to check.
PYTHON_EXTRAS = {"psycopg2-binary": "psycopg2", "dvc-ssh": "dvc_ssh", "Flask-WTF<2": "flask_wtf"}
LOCK_COMMAND = "python tools/team.py lock"

ADMIN_USER, VIEWER_USER, PG_ROLE = "admin", "viewer", "mlflow"
PG_DB, PG_AUTH_DB = "mlflow", "mlflow_auth"
DVC_REMOTE = "team"
HEALTH_TIMEOUT = float(os.environ.get("REPROZOO_TEAM_TIMEOUT", "240"))

PGDATA = TEAM / "pg"
PG_LOG = TEAM / "postgresql.log"
ARTIFACTS = TEAM / "artifacts"
MLFLOW_LOG = TEAM / "mlflow.log"
MLFLOW_PID = TEAM / "mlflow.pid"
SSH_DIR = TEAM / "ssh"
SSHD_CONFIG = SSH_DIR / "sshd_config"
SSHD_PID = SSH_DIR / "sshd.pid"
SSHD_LOG = TEAM / "sshd.log"
CLIENT_KEY = SSH_DIR / "id_ed25519"
HOST_KEY = SSH_DIR / "ssh_host_ed25519_key"
DVC_STORE = TEAM / "dvc-store"
ENV_FILE = TEAM / "env"
AUTH_INI = TEAM / "basic_auth.ini"


class TeamError(Exception):
    """A problem the user can act on: printed as one line, exit status 1."""


def say(msg: str) -> None:
    print(f"team: {msg}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def run(cmd: list[str], what: str, *, timeout: float = 120, env: dict | None = None,
        cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command; a failure is one TeamError naming `what` and the command's last line."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=cwd)
    except FileNotFoundError:
        raise TeamError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise TeamError(f"{what}: `{' '.join(cmd[:3])} ...` did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        why = last_line(proc.stderr) or last_line(proc.stdout) or f"exit status {proc.returncode}"
        raise TeamError(f"{what} failed: {why}")
    return proc


def secret(name: str, nbytes: int = 24) -> str:
    """The secret in .team/<name>, generated (mode 0600) the first time."""
    path = TEAM / name
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)  # [A-Za-z0-9_-]: safe in URIs and ini files
    write_private(path, value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (created 0600, never world-readable on the way)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --- what has to be installed --------------------------------------------------------------

def pg_bindir() -> Path | None:
    """Debian keeps initdb/pg_ctl in /usr/lib/postgresql/<major>/bin (not on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def sshd_path() -> str | None:
    for cand in ("/usr/sbin/sshd", shutil.which("sshd")):
        if cand and os.access(cand, os.X_OK):
            return str(Path(cand).resolve())
    return None


def missing_debian_packages() -> list[str]:
    missing = []
    if pg_bindir() is None:
        missing.append("postgresql")
    if sshd_path() is None or shutil.which("ssh-keygen") is None:
        missing.append("openssh-server")
    return missing


def ensure_debian_packages() -> None:
    missing = missing_debian_packages()
    if not missing:
        return
    if not is_root():
        raise TeamError(
            f"missing Debian packages {' '.join(missing)}: ask an administrator to run "
            f"`apt-get install {' '.join(missing)}` (or `sudo apt-get install ...`), or put "
            "initdb/pg_ctl and sshd on PATH from another source (e.g. conda-forge's "
            "postgresql and openssh), then rerun `make team-up` as yourself")
    if shutil.which("apt-get") is None:
        raise TeamError(f"missing {' '.join(missing)} and there is no apt-get here: install "
                        "PostgreSQL and the OpenSSH server with this system's package manager")
    say(f"installing Debian packages: {' '.join(missing)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Keep the packages' own system-wide services (postgresql@main, ssh on port 22) from
    # starting: team mode runs its own instances. The usual container policy file does that.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\n# written by reprozoo tools/team.py during apt-get\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["apt-get", "update", "-q"], "apt-get update", timeout=600, env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            f"apt-get install {' '.join(missing)}", timeout=900, env=env)
    finally:
        if made_policy:
            with contextlib.suppress(OSError):
                policy.unlink()
    still = missing_debian_packages()
    if still:
        raise TeamError(f"apt-get ran but {' '.join(still)} is still missing")


def missing_python_extras() -> list[str]:
    importlib.invalidate_caches()
    return [req for req, mod in PYTHON_EXTRAS.items() if importlib.util.find_spec(mod) is None]


def ensure_python_extras() -> None:
    missing = missing_python_extras()
    if not missing:
        return
    if not LOCK.exists():
        raise TeamError(f"{LOCK.name} is missing: run `{LOCK_COMMAND}`")
    say(f"installing {', '.join(missing)} into {BIN.parent} from {LOCK.name}")
    run([sys.executable, "-m", "pip", "install", "-q", "--require-hashes", "-r", str(LOCK)],
        f"pip install --require-hashes -r {LOCK.name}", timeout=900)
    still = missing_python_extras()
    if still:
        raise TeamError(f"pip installed {LOCK.name} but {', '.join(still)} is still not importable")


# --- ports and processes -------------------------------------------------------------------

def port_free(host: str, port: int) -> bool:
    """True when a server could listen on host:port (SO_REUSEADDR, as servers set it)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def listening(host: str, port: int, timeout: float = 1.0) -> bool:
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    try:
        with socket.create_connection((connect_host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_port(service: str, host: str, port: int, var: str) -> None:
    if not port_free(host, port):
        raise TeamError(f"port {port} on {host} is already in use by another process, so the "
                        f"{service} cannot start there: stop that process or choose another port "
                        f"with {var}=<port>")


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None


def ours(pid: int | None) -> bool:
    """The process is alive and was started for this .team folder (guards against pid reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return str(TEAM) in cmdline


def wait_gone(pid: int, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # reap it if it is our child (a server started by this very process)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    return False


# --- PostgreSQL ----------------------------------------------------------------------------

def as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def pg_owner() -> tuple[int, int]:
    if is_root():
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise TeamError("there is no `postgres` OS user (the postgresql package creates "
                            "it): reinstall it with `apt-get install --reinstall postgresql-common`") from None
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


def pg_running() -> bool:
    if not (PGDATA / "PG_VERSION").exists():
        return False
    proc = run(as_pg_user([str(pg_bindir() / "pg_ctl"), "status", "-D", str(PGDATA)]),
               "pg_ctl status", check=False, timeout=30)
    return proc.returncode == 0


def pg_init() -> None:
    if (PGDATA / "PG_VERSION").exists():
        return
    uid, gid = pg_owner()
    say(f"creating the PostgreSQL cluster in {PGDATA}")
    if PGDATA.exists() and any(PGDATA.iterdir()):
        raise TeamError(f"{PGDATA} exists but holds no PostgreSQL cluster: move it away and rerun")
    PGDATA.mkdir(mode=0o700, exist_ok=True)
    os.chown(PGDATA, uid, gid)
    superuser_pw = secret("pg_superuser_password")
    pwfile = TEAM / ".pg_init_pw"
    write_private(pwfile, superuser_pw + "\n")
    os.chown(pwfile, uid, gid)
    try:
        run(as_pg_user([str(pg_bindir() / "initdb"), "-D", str(PGDATA), "-U", "postgres",
                        f"--pwfile={pwfile}", "--auth-local=peer", "--auth-host=scram-sha-256",
                        "-E", "UTF8", "--locale=C"]), "initdb", timeout=300)
    finally:
        pwfile.unlink(missing_ok=True)
    with open(PGDATA / "postgresql.conf", "a", encoding="utf-8") as f:
        f.write("\n# reprozoo team mode: listen address and port are in team.conf\n"
                "include_if_exists = 'team.conf'\n")


def pg_configure() -> None:
    uid, gid = pg_owner()
    conf = PGDATA / "team.conf"
    conf.write_text(
        "# written by tools/team.py up (rewritten on every start)\n"
        f"listen_addresses = '{PG_HOST}'\n"
        f"port = {PG_PORT}\n"
        "unix_socket_directories = ''\n"
        "max_connections = 50\n"
        "shared_buffers = 32MB\n"
        "logging_collector = off\n", encoding="utf-8")
    os.chown(conf, uid, gid)
    # Only connections from loopback, with a password (no trust anywhere).
    hba = PGDATA / "pg_hba.conf"
    hba.write_text(
        "# written by tools/team.py up\n"
        "local   all   all                 peer\n"
        "host    all   all   127.0.0.1/32  scram-sha-256\n"
        "host    all   all   ::1/128       scram-sha-256\n", encoding="utf-8")
    os.chown(hba, uid, gid)
    os.chmod(hba, 0o600)


def pg_start() -> None:
    if pg_running():
        say(f"PostgreSQL already runs on {PG_HOST}:{PG_PORT}")
        return
    check_port("PostgreSQL", PG_HOST, PG_PORT, "REPROZOO_TEAM_PG_PORT")
    pg_configure()
    uid, gid = pg_owner()
    PG_LOG.touch(exist_ok=True)
    os.chown(PG_LOG, uid, gid)
    os.chmod(PG_LOG, 0o640)
    try:
        run(as_pg_user([str(pg_bindir() / "pg_ctl"), "start", "-D", str(PGDATA), "-l", str(PG_LOG),
                        "-w", "-t", "90"]), "pg_ctl start", timeout=120)
    except TeamError as exc:
        raise TeamError(f"PostgreSQL did not start ({exc}); see {PG_LOG}") from None
    say(f"PostgreSQL started on {PG_HOST}:{PG_PORT} (log {PG_LOG})")


def pg_stop() -> bool:
    if not pg_running():
        return False
    run(as_pg_user([str(pg_bindir() / "pg_ctl"), "stop", "-D", str(PGDATA), "-m", "fast", "-w",
                    "-t", "120"]), "pg_ctl stop", timeout=150)
    return True


def pg_connect(dbname: str = "postgres", user: str = "postgres", password: str | None = None):
    import psycopg2

    pw = password if password is not None else secret("pg_superuser_password")
    try:
        return psycopg2.connect(host=PG_HOST, port=PG_PORT, dbname=dbname, user=user,
                                password=pw, connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise TeamError(f"cannot connect to PostgreSQL on {PG_HOST}:{PG_PORT} as {user} "
                        f"({last_line(str(exc))}); see {PG_LOG}") from None


def pg_provision() -> str:
    """Role `mlflow` (password in .team/pg_password) owning the `mlflow` and `mlflow_auth`
    databases. Returns the role's password."""
    from psycopg2 import sql

    password = secret("pg_password")
    conn = pg_connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_ROLE,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(PG_ROLE)),
                        (password,))
            for db in (PG_DB, PG_AUTH_DB):
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                if not cur.fetchone():
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(db), sql.Identifier(PG_ROLE)))
    finally:
        conn.close()
    return password


def pg_uri(db: str, password: str) -> str:
    # +psycopg2: SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3, which is not installed
    return f"postgresql+psycopg2://{PG_ROLE}:{password}@{PG_HOST}:{PG_PORT}/{db}"


# --- MLflow server -------------------------------------------------------------------------

def mlflow_url(host: str | None = None) -> str:
    h = host or PUBLIC_HOST
    h = "127.0.0.1" if h in ("0.0.0.0", "") else h
    return f"http://{h}:{MLFLOW_PORT}"


def mlflow_running() -> bool:
    return ours(read_pid(MLFLOW_PID))


def http(method: str, path: str, *, auth: tuple[str, str] | None = None,
         body: dict | None = None, timeout: float = 10) -> tuple[int, str]:
    """(status, body) of one request to the local server; status 0 when unreachable."""
    req = urllib.request.Request(mlflow_url("127.0.0.1" if HOST in ("0.0.0.0", "::") else HOST) + path,
                                 method=method)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data=data, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def mlflow_start(pg_password: str) -> None:
    admin_pw = secret("admin_password")
    if mlflow_running():
        say(f"MLflow server already runs at {mlflow_url()} (pid {read_pid(MLFLOW_PID)})")
        end = time.time() + HEALTH_TIMEOUT  # it may still be starting (or stopping)
        while http("GET", "/health", timeout=3)[0] != 200:
            if time.time() > end or not mlflow_running():
                raise TeamError(f"the MLflow server (pid {read_pid(MLFLOW_PID)}) does not answer "
                                f"{mlflow_url()}/health: `python tools/team.py down`, then `up` "
                                f"again; see {MLFLOW_LOG}")
            time.sleep(1)
    else:
        check_port("MLflow server", HOST, MLFLOW_PORT, "REPROZOO_TEAM_MLFLOW_PORT")
        ARTIFACTS.mkdir(exist_ok=True)
        write_private(AUTH_INI, (
            "# written by tools/team.py up: MLflow basic-auth (MLFLOW_AUTH_CONFIG_PATH)\n"
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = {pg_uri(PG_AUTH_DB, pg_password)}\n"
            f"admin_username = {ADMIN_USER}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_AUTH_"))}
        env.update({
            # in the environment, not on the command line: `ps` shows no password
            "MLFLOW_BACKEND_STORE_URI": pg_uri(PG_DB, pg_password),
            "MLFLOW_AUTH_CONFIG_PATH": str(AUTH_INI),
            "MLFLOW_AUTH_ADMIN_PASSWORD": admin_pw,  # used only to create `admin` the first time
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secret("flask_secret_key", 32),
            "PYTHONUNBUFFERED": "1",
        })
        # MLflow 3's GenAI job runner (7 huey worker processes, ~1.5 GB) has no use here;
        # export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true before `up` to keep it.
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        cmd = [str(BIN / "mlflow"), "server", "--host", HOST, "--port", str(MLFLOW_PORT),
               "--workers", os.environ.get("REPROZOO_TEAM_MLFLOW_WORKERS", "2"),
               "--app-name", "basic-auth", "--serve-artifacts",
               "--artifacts-destination", str(ARTIFACTS)]
        with open(MLFLOW_LOG, "ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} tools/team.py up\n".encode())
            log.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=env, cwd=TEAM, start_new_session=True)
        MLFLOW_PID.write_text(f"{proc.pid}\n")
        say(f"starting the MLflow server at {mlflow_url()} (pid {proc.pid}, log {MLFLOW_LOG})")
        end = time.time() + HEALTH_TIMEOUT
        while True:
            if proc.poll() is not None:
                MLFLOW_PID.unlink(missing_ok=True)
                why = last_line(MLFLOW_LOG.read_text(errors="replace")[-4000:])
                raise TeamError(f"the MLflow server exited with status {proc.returncode} while "
                                f"starting ({why}); see {MLFLOW_LOG}")
            status, _ = http("GET", "/health", timeout=3)
            if status == 200:
                break
            if time.time() > end:
                raise TeamError(f"the MLflow server did not answer {mlflow_url()}/health within "
                                f"{HEALTH_TIMEOUT:.0f} s (it is left running as pid {proc.pid}; "
                                f"`python tools/team.py down` stops it); see {MLFLOW_LOG}")
            time.sleep(1)
        say(f"MLflow server is healthy at {mlflow_url()}")
    status, body = http("GET", f"/api/2.0/mlflow/users/get?username={ADMIN_USER}",
                        auth=(ADMIN_USER, admin_pw))
    if status == 401:
        raise TeamError(f"the server refuses the admin password in {TEAM / 'admin_password'} "
                        "(the auth database holds another one): restore that file, or reset it "
                        f"with the users/update-password API (see {MLFLOW_LOG})")
    if status != 200:
        raise TeamError(f"the MLflow server answered HTTP {status} to the admin check "
                        f"({last_line(body)}); see {MLFLOW_LOG}")
    ensure_viewer(admin_pw)


def ensure_viewer(admin_pw: str) -> None:
    """A read-only account (default_permission READ: it can read every experiment, create
    runs in none of the others' experiments)."""
    viewer_pw = secret("viewer_password")
    admin = (ADMIN_USER, admin_pw)
    status, body = http("GET", f"/api/2.0/mlflow/users/get?username={VIEWER_USER}", auth=admin)
    if status == 200:
        status, body = http("PATCH", "/api/2.0/mlflow/users/update-password", auth=admin,
                            body={"username": VIEWER_USER, "password": viewer_pw})
    else:
        status, body = http("POST", "/api/2.0/mlflow/users/create", auth=admin,
                            body={"username": VIEWER_USER, "password": viewer_pw})
        if status == 200:
            say(f"created the read-only account `{VIEWER_USER}` (password in {TEAM / 'viewer_password'})")
    if status != 200:
        raise TeamError(f"could not set up the `{VIEWER_USER}` account: HTTP {status} "
                        f"({last_line(body)[:200]})")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def api(method: str, path: str, auth: tuple[str, str], body: dict | None = None) -> dict:
    """One authenticated REST call that must succeed (raises TeamError otherwise)."""
    status, text = http(method, path, auth=auth, body=body, timeout=30)
    if status != 200:
        raise TeamError(f"{method} {path}: HTTP {status} ({last_line(text)[:200]})")
    return json.loads(text or "{}")


def close_orphan_runs(admin_pw: str) -> list[str]:
    """Close as FAILED the runs left RUNNING by a process of this host that is gone.

    A stage keeps its results when the server dies under it (README "Tracking"), but the
    run it was logging to stays RUNNING on the server. Its identity tags (reprozoo.host,
    reprozoo.pid: what tracking.close_orphans reads too) say whether its process is gone;
    runs of other hosts, or of a process still alive, are left alone. Returns the run ids."""
    auth = (ADMIN_USER, admin_pw)
    host = socket.gethostname()
    exp_ids: list[str] = []
    token = None
    while True:
        body = {"max_results": 1000, "view_type": "ACTIVE_ONLY", **({"page_token": token} if token else {})}
        page = api("POST", "/api/2.0/mlflow/experiments/search", auth, body)
        exp_ids += [e["experiment_id"] for e in page.get("experiments", [])]
        token = page.get("next_page_token")
        if not token:
            break
    closed = []
    for i in range(0, len(exp_ids), 100):
        token = None
        while True:
            body = {"experiment_ids": exp_ids[i:i + 100], "max_results": 1000,
                    "filter": "attributes.status = 'RUNNING'",
                    **({"page_token": token} if token else {})}
            page = api("POST", "/api/2.0/mlflow/runs/search", auth, body)
            for run in page.get("runs", []):
                tags = {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}
                pid = tags.get("reprozoo.pid", "")
                if tags.get("reprozoo.host") != host or not pid.isdigit() or pid_alive(int(pid)):
                    continue
                run_id = run["info"]["run_id"]
                api("POST", "/api/2.0/mlflow/runs/set-tag", auth,
                    {"run_id": run_id, "key": "reprozoo.closed_by",
                     "value": "tools/team.py up: its process is gone"})
                api("POST", "/api/2.0/mlflow/runs/update", auth,
                    {"run_id": run_id, "status": "FAILED", "end_time": int(time.time() * 1000)})
                closed.append(run_id)
            token = page.get("next_page_token")
            if not token:
                break
    return closed


def close_orphans_on_up() -> None:
    """`up`'s courtesy: a failure here is one warning line, never a reason to fail `up`."""
    try:
        closed = close_orphan_runs(secret("admin_password"))
    except (TeamError, ValueError, KeyError) as exc:
        say(f"warning: could not check for runs left RUNNING ({exc})")
        return
    if closed:
        say(f"closed {len(closed)} MLflow run(s) left RUNNING by a process of this host that is "
            f"gone (status FAILED, tag reprozoo.closed_by): {', '.join(closed)}")


def stop_pid(pid_file: Path, name: str, *, group: bool) -> bool:
    pid = read_pid(pid_file)
    if not ours(pid):
        pid_file.unlink(missing_ok=True)
        return False
    assert pid is not None
    kill = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGTERM)
    if not wait_gone(pid, 30):
        say(f"{name} (pid {pid}) did not stop within 30 s of SIGTERM: sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGKILL)
        wait_gone(pid, 10)
    if group:  # the server's workers are in its process group
        end = time.time() + 15
        while time.time() < end:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


# --- sshd and the DVC remote ---------------------------------------------------------------

def ssh_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def sshd_running() -> bool:
    return ours(read_pid(SSHD_PID))


def ssh_setup() -> None:
    SSH_DIR.mkdir(mode=0o700, exist_ok=True)
    os.chmod(SSH_DIR, 0o700)
    for key, comment in ((HOST_KEY, "reprozoo-team-host"), (CLIENT_KEY, "reprozoo-team-client")):
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                f"ssh-keygen {key.name}")
    pub = (CLIENT_KEY.with_suffix(".pub")).read_text().strip()
    # `restrict`: no shell tty, no forwarding; the sftp subsystem DVC uses still works.
    # Keys a teammate appended are kept; the generated one is (re)written first.
    auth = SSH_DIR / "authorized_keys"
    others = []
    with contextlib.suppress(OSError):
        others = [ln for ln in auth.read_text().splitlines()
                  if ln.strip() and pub.split()[1] not in ln]
    write_private(auth, "".join(f"{ln}\n" for ln in [f"restrict {pub}", *others]))
    host_pub = HOST_KEY.with_suffix(".pub").read_text().split()
    known = f"[{PUBLIC_HOST}]:{SSH_PORT} {host_pub[0]} {host_pub[1]}\n"
    if PUBLIC_HOST != "127.0.0.1":
        known += f"[127.0.0.1]:{SSH_PORT} {host_pub[0]} {host_pub[1]}\n"
    (SSH_DIR / "known_hosts").write_text(known)
    SSHD_CONFIG.write_text(
        "# written by tools/team.py up: the team's DVC remote (sftp only, key login only)\n"
        f"Port {SSH_PORT}\n"
        f"ListenAddress {HOST}\n"
        f"HostKey {HOST_KEY}\n"
        f"PidFile {SSHD_PID}\n"
        f"AuthorizedKeysFile {SSH_DIR / 'authorized_keys'}\n"
        f"AllowUsers {ssh_user()}\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "UsePAM no\n"
        "X11Forwarding no\n"
        "AllowTcpForwarding no\n"
        "PrintMotd no\n"
        "Subsystem sftp internal-sftp\n")


def sshd_start() -> None:
    if sshd_running():
        say(f"sshd already runs on {HOST}:{SSH_PORT} (pid {read_pid(SSHD_PID)})")
        return
    check_port("sshd (DVC remote)", HOST, SSH_PORT, "REPROZOO_TEAM_SSH_PORT")
    ssh_setup()
    DVC_STORE.mkdir(exist_ok=True)
    sshd = sshd_path()
    assert sshd is not None
    if is_root():
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    run([sshd, "-t", "-f", str(SSHD_CONFIG)], "sshd -t (config check)")
    SSHD_PID.unlink(missing_ok=True)
    run([sshd, "-f", str(SSHD_CONFIG), "-E", str(SSHD_LOG)], "sshd start", timeout=30)
    end = time.time() + 15
    while not (sshd_running() and listening(HOST, SSH_PORT)):
        if time.time() > end:
            raise TeamError(f"sshd did not listen on {HOST}:{SSH_PORT} within 15 s; see {SSHD_LOG}")
        time.sleep(0.2)
    say(f"sshd started on {HOST}:{SSH_PORT} (pid {read_pid(SSHD_PID)}, log {SSHD_LOG})")


def dvc_remote_url() -> str:
    return f"ssh://{PUBLIC_HOST}:{SSH_PORT}{DVC_STORE}"


def dvc_local_remote() -> dict[str, str]:
    """The `team` remote's settings in .dvc/config.local (DVC's configobj format)."""
    path = REPO / ".dvc" / "config.local"
    out: dict[str, str] = {}
    section = None
    with contextlib.suppress(OSError):
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line.strip("[]").strip()
                if len(section) > 1 and section[0] == section[-1] == "'":
                    section = section[1:-1]
            elif section == f'remote "{DVC_REMOTE}"' and "=" in line:
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip()
    return out


def dvc_configure() -> None:
    """The DVC remote `team` in this clone's .dvc/config.local (not committed)."""
    dvc = str(BIN / "dvc")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    want = {"url": dvc_remote_url(), "keyfile": str(CLIENT_KEY), "user": ssh_user(),
            "port": str(SSH_PORT)}
    if dvc_local_remote() == want:  # already set up: skip four slow `dvc` calls
        say(f"DVC remote `{DVC_REMOTE}` = {dvc_remote_url()} (already configured)")
        return
    for args in (["remote", "add", "--local", "-f", DVC_REMOTE, dvc_remote_url()],
                 ["remote", "modify", "--local", DVC_REMOTE, "keyfile", str(CLIENT_KEY)],
                 ["remote", "modify", "--local", DVC_REMOTE, "user", ssh_user()],
                 ["remote", "modify", "--local", DVC_REMOTE, "port", str(SSH_PORT)]):
        run([dvc, *args], f"dvc {' '.join(args[:3])}", cwd=REPO, env=env, timeout=120)
    default = run([dvc, "remote", "default"], "dvc remote default", cwd=REPO, env=env,
                  check=False, timeout=120)
    if default.returncode != 0 or not default.stdout.strip():
        run([dvc, "remote", "default", "--local", DVC_REMOTE], "dvc remote default --local",
            cwd=REPO, env=env, timeout=120)
        say(f"DVC remote `{DVC_REMOTE}` = {dvc_remote_url()} (this clone's default remote)")
    else:
        say(f"DVC remote `{DVC_REMOTE}` = {dvc_remote_url()} (use `dvc push -r {DVC_REMOTE}`)")


def write_env() -> None:
    admin_pw = secret("admin_password")
    write_private(ENV_FILE, (
        "# reprozoo team mode, written by tools/team.py up: `source .team/env`\n"
        f"export MLFLOW_TRACKING_URI={mlflow_url()}\n"
        f"export MLFLOW_TRACKING_USERNAME={ADMIN_USER}\n"
        f"export MLFLOW_TRACKING_PASSWORD={admin_pw}\n"
        f"# DVC artifact remote: `dvc push -r {DVC_REMOTE}` / `dvc pull -r {DVC_REMOTE}` "
        f"({dvc_remote_url()}, key {CLIENT_KEY})\n"
        f"export REPROZOO_DVC_REMOTE={DVC_REMOTE}\n"
        f"# read-only account: user {VIEWER_USER}, password in {TEAM / 'viewer_password'}\n"))


# --- commands ------------------------------------------------------------------------------

def cmd_up(args: argparse.Namespace) -> int:
    ensure_debian_packages()
    ensure_python_extras()
    TEAM.mkdir(exist_ok=True)
    # The postgres user must reach .team/pg and .team/postgresql.log: traverse, not list.
    os.chmod(TEAM, 0o711)
    # Every port first, so nothing starts when one of them is taken.
    if not pg_running():
        check_port("PostgreSQL", PG_HOST, PG_PORT, "REPROZOO_TEAM_PG_PORT")
    if not mlflow_running():
        check_port("MLflow server", HOST, MLFLOW_PORT, "REPROZOO_TEAM_MLFLOW_PORT")
    if not sshd_running():
        check_port("sshd (DVC remote)", HOST, SSH_PORT, "REPROZOO_TEAM_SSH_PORT")
    pg_init()
    pg_start()
    pg_password = pg_provision()
    mlflow_start(pg_password)
    close_orphans_on_up()
    sshd_start()
    dvc_configure()
    write_env()
    say(f"up: MLflow {mlflow_url()} (user {ADMIN_USER}), DVC remote `{DVC_REMOTE}`; "
        f"run `source {os.path.relpath(ENV_FILE)}`")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = []
    if stop_pid(MLFLOW_PID, "MLflow server", group=True):
        stopped.append("MLflow server")
    if stop_pid(SSHD_PID, "sshd", group=False):
        stopped.append("sshd")
    if pg_bindir() is not None and pg_stop():
        stopped.append("PostgreSQL")
    say(f"stopped: {', '.join(stopped)}; data kept in {TEAM}" if stopped else "nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = [
        ("PostgreSQL", pg_bindir() is not None and pg_running(), f"{PG_HOST}:{PG_PORT}",
         f"data {PGDATA}"),
        ("MLflow server", mlflow_running(), mlflow_url(), f"pid {read_pid(MLFLOW_PID)}"),
        ("sshd (DVC remote)", sshd_running(), f"{HOST}:{SSH_PORT}", f"pid {read_pid(SSHD_PID)}"),
    ]
    for name, up, where, extra in rows:
        print(f"{name:18} {'running' if up else 'stopped':8} {where:28} {extra if up else ''}".rstrip())
    if ENV_FILE.exists():
        print(f"env file           {ENV_FILE}")
    return 0 if all(r[1] for r in rows) else 3


def cmd_lock(args: argparse.Namespace) -> int:
    compile_ = BIN / "pip-compile"
    if not compile_.exists():
        run([sys.executable, "-m", "pip", "install", "-q", "pip-tools"], "pip install pip-tools",
            timeout=600)
    say(f"resolving {', '.join(PYTHON_EXTRAS)} against requirements.lock (a few minutes)")
    spec = "".join(f"{req}\n" for req in PYTHON_EXTRAS)
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": LOCK_COMMAND}
    try:
        proc = subprocess.run(
            [str(compile_), "-q", "--generate-hashes", "--allow-unsafe", "--no-emit-index-url",
             "--no-emit-find-links", "--strip-extras", "--constraint", "requirements.lock",
             "-o", LOCK.name, "-"], input=spec, text=True, capture_output=True, cwd=REPO,
            env=env, timeout=1800)
    except subprocess.TimeoutExpired:
        raise TeamError("pip-compile did not finish within 30 min") from None
    if proc.returncode != 0:
        raise TeamError(f"pip-compile failed: {last_line(proc.stderr)}")
    say(f"wrote {LOCK}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/team.py",
        description="Team mode: PostgreSQL + MLflow tracking server (basic auth) + sshd DVC "
                    "remote, as local processes with their state in .team/.",
        epilog=f"Ports: PostgreSQL {PG_PORT}, MLflow {MLFLOW_PORT}, sshd {SSH_PORT} on {HOST} "
               "(REPROZOO_TEAM_PG_PORT / _MLFLOW_PORT / _SSH_PORT / REPROZOO_TEAM_HOST). "
               "After `up`: `source .team/env`. See docs/team.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="install what is missing, start the three services, write .team/env, "
                              "close as FAILED the runs left RUNNING by processes of this host that "
                              "are gone (idempotent)").set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop the services (the data in .team/ stays)").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="what runs (exit 0 when all three do, 3 otherwise)").set_defaults(fn=cmd_status)
    sub.add_parser("lock", help=f"re-resolve {LOCK.name} with pip-tools (hashes, constrained by "
                                "requirements.lock)").set_defaults(fn=cmd_lock)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except TeamError as exc:
        print(f"team: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("team: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a bare traceback
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"team: error: {type(exc).__name__}: {first} (unexpected: please report it)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
