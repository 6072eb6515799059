"""Shared fixtures: the data mirror, and a tiny prepared MNIST workspace built from real data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIPELINES = REPO / "pipelines"


def mirror_dir() -> Path:
    env = os.environ.get("REPROZOO_DATA_MIRROR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not (path / "README.md").exists():
        pytest.skip(f"no data mirror at {path} (set REPROZOO_DATA_MIRROR)")
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    return mirror_dir()


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_stage(script: str, *args: str, cwd: Path, env: dict | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a pipelines/ script as DVC would (fresh interpreter, cwd = workspace)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(PIPELINES / script), *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)



def start_training_in_loop(workspace: Path, family: str = "cnn", timeout: float = 180) -> subprocess.Popen:
    """Start `train.py <family>` in the background and return once it is inside its epoch
    loop (its progress line "train <family>:" printed, then 1 s). Output goes to
    workspace/train.log, not an unread pipe: a full pipe would block the child's writes (and
    its interrupt handling) whatever the code under test does. A shell starts background jobs
    with SIGINT ignored and Python keeps an inherited SIG_IGN, so the child gets the default
    handler back: it sees KeyboardInterrupt however the test suite itself was started."""
    import signal
    import time

    log = workspace / "train.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(PIPELINES / "train.py"), family], cwd=workspace,
                                stdout=out, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + timeout
    while f"train {family}:" not in log.read_text() and time.time() < deadline:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.2)
    time.sleep(1)
    return proc

TINY_PARAMS = """\
profile: smoke
seed: 0
device: cpu
tracking: {enabled: false}
fetch: {mnist_variant: mnist-5k}
prepare:
  mnist: {valid_fraction: 0.2, train_limit: 800}
families:
  slp: {kind: mnist_clf, data: data/processed/mnist}
  cnn: {kind: mnist_clf, data: data/processed/mnist}
slp: {arch: slp, epochs: 3, batch_size: 64, lr: 0.01, patience: 5}
cnn: {arch: cnn, epochs: 40, batch_size: 32, lr: 0.001, patience: 40}
"""


@pytest.fixture(scope="session")
def mnist_workspace(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """A workspace with params.yaml and data/processed/mnist from real MNIST (800 train)."""
    ws = tmp_path_factory.mktemp("ws")
    (ws / "params.yaml").write_text(TINY_PARAMS, encoding="utf-8")
    env = {"REPROZOO_DATA_MIRROR": str(mirror)}
    for script, arg in (("fetch.py", "mnist"), ("prepare.py", "mnist")):
        proc = run_stage(script, arg, cwd=ws, env=env)
        assert proc.returncode == 0, proc.stderr
    return ws


@pytest.fixture
def workspace(mnist_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the MNIST workspace that a test may modify."""
    ws = tmp_path / "ws"
    shutil.copytree(mnist_workspace, ws)
    return ws
