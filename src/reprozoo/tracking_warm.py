"""A warm MLflow process that forks each stage's tracking process, ready in milliseconds.

A stage's tracking process (reprozoo.tracking_process) spends about 2.4 s importing MLflow
and its sqlite store before it logs anything; a smoke stage's own work is often shorter,
so the stage waited for it, stage after stage. The first tracked stage now also starts
this process: it imports MLflow, the store's modules and what logging a model needs, once,
then waits on a Unix socket. Each later stage connects, and the process forks a child
that has all of that loaded already. The child takes the stage's environment, working
directory, `sys.path` and stderr (passed over the socket), imports reprozoo's own
modules fresh from disk, and serves the stage exactly as a process started by
`TrackingProcess` does (reprozoo.tracking_serve's `_serve`, over the socket instead of pipes).

What it shares and what it does not:
- one warm process per user, Python interpreter, MLflow install, copy of this file and
  MLflow settings read at import (the `MLFLOW_*` variables other than the tracking URI,
  credentials, registry and experiment ones, which the child takes from the stage). Any
  of those changing gives a new socket name, so a stage never gets a process built for
  another environment; reprozoo's other modules are never loaded in the warm process;
- it never opens a store (a SQLAlchemy engine must not cross a fork) and starts no
  thread of its own (forking beside threads can copy a held lock);
- it ends after `REPROZOO_MLFLOW_WARM_S` seconds (default 300) without a stage; 0 turns
  it off, and every stage starts its own tracking process as before;
- it holds a lock file for its life, so two stages starting together leave one process,
  and a process killed outright leaves only a socket file, which the next one replaces;
- on its way out it removes its socket first, then serves the stages already queued, so
  a stage connects either to a process that will serve it or to nothing (and starts one).

Where forking or Unix sockets are missing, or the socket's folder is not private, the
stage starts its own tracking process as before.

    python src/reprozoo/tracking_warm.py SOCKET LOCK IDLE_S   (started by a stage, not by hand)
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_IDLE_S = 300.0
# MLFLOW_* variables a child takes from its stage at each call, so they stay out of the key.
_PER_STAGE = ("MLFLOW_TRACKING_", "MLFLOW_REGISTRY_", "MLFLOW_EXPERIMENT_", "MLFLOW_RUN_ID")


# -- the stage's side ---------------------------------------------------------------------
def idle_seconds(env: Mapping[str, str]) -> float:
    """`REPROZOO_MLFLOW_WARM_S`: how long the warm process waits for the next stage (0: off)."""
    raw = env.get("REPROZOO_MLFLOW_WARM_S", "").strip()
    if not raw:
        return DEFAULT_IDLE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        from reprozoo.errors import TrackingError  # (the stage's side only: the package is there)

        raise TrackingError(f"REPROZOO_MLFLOW_WARM_S={raw!r}: expected a number of seconds "
                         "(0 turns the warm MLflow process off); unset it for the default "
                         f"{DEFAULT_IDLE_S:g}")
    return value


def _key(env: Mapping[str, str]) -> str:
    """What the warm process must share with a stage that uses it."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    origin = getattr(spec, "origin", None) or ""
    stamp = os.stat(origin).st_mtime_ns if origin and os.path.exists(origin) else 0
    with open(__file__, "rb") as f:
        me = f.read()
    settings = sorted((k, v) for k, v in env.items()
                      if (k.startswith("MLFLOW_") and not k.startswith(_PER_STAGE))
                      or k == "DO_NOT_TRACK")
    text = json.dumps([os.path.realpath(sys.executable), sys.prefix, sys.version, origin,
                       stamp, hashlib.sha256(me).hexdigest(), settings])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _private_dir() -> str | None:
    """/tmp/reprozoo-<uid>, created 0700; None when it exists but is not this user's alone."""
    import stat
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"reprozoo-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path


def address(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(socket, lock file) for this environment, or None where the warm process cannot be."""
    if not (hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")):
        return None
    folder = _private_dir()
    if folder is None:
        return None
    key = _key(env)
    sock = os.path.join(folder, f"mlflow-{key}.sock")
    if len(os.fsencode(sock)) > 100:  # past what AF_UNIX takes on every system (macOS: 104)
        return None
    return sock, os.path.join(folder, f"mlflow-{key}.lock")


def _log(sock_path: str) -> str:
    """The warm process's own messages (its stderr), beside its socket."""
    return os.path.splitext(sock_path)[0] + ".log"


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except OSError:  # no such file, or a socket left by a process that is gone
        sock.close()
        return None


def _start(sock_path: str, lock_path: str, idle: float, env: Mapping[str, str]) -> Any:
    """Start the warm process, detached: its own session, no pipe of the stage's."""
    import subprocess

    with open(_log(sock_path), "ab") as out:
        return subprocess.Popen([sys.executable, os.path.abspath(__file__), sock_path, lock_path, str(idle)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                         env=dict(env), start_new_session=True, close_fds=True)


class Forked:
    """A tracking process forked by the warm process, with the surface of subprocess.Popen
    that reprozoo.tracking_process uses: stdin, stdout, poll(), wait(), kill(), returncode.
    Its exit code is the one it reports on its way out; -1 when it ended without one."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.stdin = sock.makefile("w", encoding="utf-8", newline="\n")
        self.stdout = sock.makefile("r", encoding="utf-8", newline="\n")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Read what is left until the child closes its end (it reports its exit code last)."""
        import subprocess

        if self.returncode is not None:
            return self.returncode
        code = -1
        try:
            self.sock.shutdown(socket.SHUT_WR)  # the child's end of requests
        except OSError:
            pass
        self.sock.settimeout(timeout)
        try:
            for line in self.stdout:  # replies not read, then the exit code
                try:
                    code = int(json.loads(line).get("exit", code))
                except (ValueError, AttributeError, TypeError):
                    pass
        except TimeoutError:
            raise subprocess.TimeoutExpired("the forked MLflow tracking process", timeout) from None
        except (OSError, ValueError):
            pass
        self.returncode = code
        self.stdout.close()
        self.sock.close()
        return code

    def kill(self) -> None:
        """Stop waiting: close the socket (the child sees its stage gone and ends the run)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.returncode is None:
            self.returncode = -1


def fork_for_stage(env: Mapping[str, str]) -> Forked | None:
    """A tracking process for this stage from the warm process (started here if there is
    none); None when there can be none (off, no fork, no private socket folder)."""
    idle = idle_seconds(env)
    try:
        where = address(env) if idle > 0 else None
    except OSError:
        where = None
    if where is None:
        return None
    sock_path, lock_path = where
    sock = _connect(sock_path)
    if sock is None:
        try:
            proc = _start(sock_path, lock_path, idle, env)
        except OSError:
            return None
        deadline = time.monotonic() + 5.0  # it binds before its imports: milliseconds
        while sock is None and time.monotonic() < deadline:
            time.sleep(0.01)
            sock = _connect(sock_path)
            if sock is None and proc.poll() is not None:
                sock = _connect(sock_path)  # it stepped aside for another, or failed
                break
        if sock is None:
            return None
    try:
        socket.send_fds(sock, [b"\0"], [2])  # the stage's stderr, as a started process inherits
        hello = {"env": dict(env), "cwd": os.getcwd(), "path": list(sys.path)}
        sock.sendall((json.dumps(hello) + "\n").encode())
    except (OSError, ValueError):
        sock.close()
        return None
    return Forked(sock)


# -- the warm process ---------------------------------------------------------------------
def _until_reset(requests: Any) -> Any:
    """The stage's lines; a stage killed with replies unread resets the socket instead of
    closing it, which ends them the same way (a pipe would just close)."""
    try:
        yield from requests
    except OSError:
        return


def _child(conn: socket.socket) -> None:
    """In the fork: become the stage's tracking process, then exit without teardown."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # MLflow waits on its own subprocesses
    code = 1
    try:
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
        requests = conn.makefile("r", encoding="utf-8", newline="\n")
        replies = conn.makefile("w", encoding="utf-8", newline="\n")
        first = requests.readline()
        if not first:  # the stage went away before it said who it is
            code = 0
            return
        hello = json.loads(first)
        if fds:
            os.dup2(fds[0], 1)
            os.dup2(fds[0], 2)
            os.close(fds[0])
        os.environ.clear()
        os.environ.update(hello["env"])
        os.chdir(hello["cwd"])
        sys.path[:] = hello["path"]
        import importlib

        importlib.invalidate_caches()
        from reprozoo import tracking_serve

        tracking_serve.quiet_mlflow()
        sys.stdout = sys.stderr
        tracking_serve._serve(_until_reset(requests), replies)
        code = 0
        try:
            replies.write(json.dumps({"exit": 0}) + "\n")
            replies.flush()
        except OSError:
            pass  # the stage is gone: nobody to tell
    except BaseException:  # noqa: BLE001 - say it in the stage's log, then end
        import traceback

        traceback.print_exc()
        try:
            conn.sendall((json.dumps({"exit": code}) + "\n").encode())
        except OSError:
            pass
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def _warm_up() -> None:
    import sqlalchemy.orm

    import mlflow  # noqa: F401
    import mlflow.pyfunc  # noqa: F401
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    from mlflow.models import Model, infer_signature  # noqa: F401

    sqlalchemy.orm.configure_mappers()  # per process, not per engine: done once here


def serve(sock_path: str, lock_path: str, idle: float) -> None:
    import fcntl
    import select
    import signal

    lock = open(lock_path, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another warm process holds it
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # who holds it, for a look or a kill by hand
    lock.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        os.unlink(sock_path)  # a socket left by a process killed outright
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    os.chmod(sock_path, 0o600)
    listener.listen(64)  # stages may connect now; they are served once MLflow is loaded
    mine = os.stat(sock_path).st_ino
    _warm_up()

    def take() -> None:
        conn, _ = listener.accept()
        conn.setblocking(True)
        if os.fork() == 0:
            listener.close()
            lock.close()  # the lock is the warm process's alone, not its children's
            _child(conn)
        conn.close()

    def still_ours() -> bool:  # a tidy-up of the folder may have removed or replaced them
        try:
            return (os.stat(sock_path).st_ino == mine
                    and os.stat(lock_path).st_ino == os.fstat(lock.fileno()).st_ino)
        except FileNotFoundError:
            return False

    last = time.monotonic()
    while True:
        wait = last + idle - time.monotonic()
        if wait > 0 and select.select([listener], [], [], min(wait, 10.0))[0]:
            take()
            last = time.monotonic()
        if wait > 0 and still_ours():
            continue
        try:  # idle, or no longer the socket's owner: leave (removing it if it is ours)
            if os.stat(sock_path).st_ino == mine:
                os.unlink(sock_path)
        except FileNotFoundError:
            pass
        listener.setblocking(False)
        while True:  # serve whoever connected before the socket went away
            try:
                take()
            except BlockingIOError:
                break
        log = _log(sock_path)
        if os.path.exists(log) and os.path.getsize(log) == 0:
            os.unlink(log)
        return


if __name__ == "__main__":
    sys.path.pop(0)  # this file's folder: reprozoo's modules load only in the children
    serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
