"""The MLflow UI as people see it, in a real headless Chromium (Debian's `chromium`).

Two families (slp, cnn) train and evaluate with tracking on; `mlflow ui` serves their
store on a loopback port; Chromium renders the runs table, the compare view of the two
runs and the registered model's page, and the test reads the rendered DOM: the shared
metric column (`test/accuracy`), the unprefixed param (`lr`), the run names, the model
`reprozoo-cnn` with its `champion` alias. The screenshots go to tmp_path, or to
$REPROZOO_UI_SCREENSHOTS (`make ui-screenshots` refreshes the committed reports/ui/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, run_stage


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):  # CI runs as root on a clean machine
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]):
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=900)
        return shutil.which("chromium")
    pytest.skip("no Chromium: `apt-get install chromium` (Debian) to run the browser test")


def _render(chromium: str, url: str, shot: Path, height: int = 1000) -> str:
    """The DOM after the page's scripts ran (and a screenshot of it)."""
    with tempfile.TemporaryDirectory() as profile:  # a throwaway browser profile
        base = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--window-size=1600,{height}", "--virtual-time-budget=20000", f"--user-data-dir={profile}"]
        subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return dom.stdout


@pytest.fixture
def ui(workspace, tmp_path):
    """Trained + evaluated slp and cnn in the workspace's store, and `mlflow ui` on it."""
    p = workspace / "params.yaml"
    text = p.read_text().replace("tracking: {enabled: false}", "tracking: {enabled: true}")
    p.write_text(text.replace("cnn: {arch: cnn, epochs: 40", "cnn: {arch: cnn, epochs: 2"))
    for family in ("slp", "cnn"):
        for stage in ("train.py", "evaluate.py"):
            proc = run_stage(stage, family, cwd=workspace, env={"MLFLOW_TRACKING_URI": ""})
            assert proc.returncode == 0, proc.stderr
    port = free_port()
    log = open(tmp_path / "mlflow-ui.log", "w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "ui", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{workspace / 'mlflow.db'}"],
        cwd=workspace, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a loaded 2-core machine needs over a minute
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    tail = (tmp_path / "mlflow-ui.log").read_text()[-1500:]
                    pytest.fail(f"mlflow ui did not answer /health within 300 s:\n{tail}")
                time.sleep(1)
        yield url, workspace
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def _api(url: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=10))


def test_the_ui_shows_shared_columns_a_compare_view_and_the_registered_model(ui, tmp_path):
    url, workspace = ui
    chromium = _chromium()
    out = Path(os.environ.get("REPROZOO_UI_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    exp = json.load(urllib.request.urlopen(
        url + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=reprozoo", timeout=10))["experiment"]
    runs = _api(url, "/api/2.0/mlflow/runs/search", {"experiment_ids": [exp["experiment_id"]]})["runs"]
    by_family = {next(t["value"] for t in r["data"]["tags"] if t["key"] == "family"): r for r in runs}
    assert set(by_family) == {"slp", "cnn"}

    table = _render(chromium, f"{url}/#/experiments/{exp['experiment_id']}/runs", out / "runs-table.png")
    assert "slp · smoke" in table and "cnn · smoke" in table, table[-2000:]

    ids = json.dumps([by_family["slp"]["info"]["run_id"], by_family["cnn"]["info"]["run_id"]])
    compare = _render(chromium, f"{url}/#/compare-runs?runs={ids}&experiments=[\"{exp['experiment_id']}\"]",
                      out / "compare-slp-cnn.png", height=2000)
    # one test-accuracy row and one lr row, filled for both families
    assert "test/accuracy" in compare and ">lr<" in compare, compare[-2000:]
    for family in ("slp", "cnn"):
        acc = next(m["value"] for m in by_family[family]["data"]["metrics"] if m["key"] == "test/accuracy")
        assert f">{acc:.3f}<" in compare, (family, acc)  # the compare table shows 3 decimals

    model = _render(chromium, f"{url}/#/models/reprozoo-cnn", out / "model-reprozoo-cnn.png")
    assert "reprozoo-cnn" in model and "champion" in model, model[-2000:]
    for shot in ("runs-table.png", "compare-slp-cnn.png", "model-reprozoo-cnn.png"):
        assert (out / shot).stat().st_size > 10_000, shot  # a rendered page, not a blank one
