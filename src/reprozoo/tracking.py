"""The one module that talks to MLflow.

Default store: ``sqlite:///<root>/mlflow.db`` with artifacts under ``<root>/mlruns``,
where <root> is the project root the caller names (the stage scripts pass DVC's root).
``MLFLOW_TRACKING_URI`` overrides the store (a real server). One experiment per family
(``reprozoo/<family>``), one run per training stage; the evaluate stage finds that run
again by the SHA-256 of the model file it evaluates and adds the test metrics to it.
With ``tracking.enabled: false`` every call is a no-op and no other output changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reprozoo.io import sha256_file
from reprozoo.metrics import flatten

MODEL_TAG = "reprozoo.model_sha256"


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"


def git_identity(root: Path) -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD") or "none"
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "none", False
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def params_hash(params: Mapping[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def data_hashes(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of every input file (directories are walked in sorted order)."""
    out = {}
    for p in paths:
        files = sorted(f for f in Path(p).rglob("*") if f.is_file()) if Path(p).is_dir() else [Path(p)]
        for f in files:
            if f.name.startswith(".") or not f.exists():
                continue
            out[f"data.sha256.{f.as_posix()}"] = sha256_file(f)
    return out


class NullTracker:
    """Tracking disabled: same surface, does nothing."""

    enabled = False
    run_id = None

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...
    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def set_tags(self, tags: Mapping[str, str]) -> None: ...
    def log_artifact(self, path: str | os.PathLike, subdir: str | None = None) -> None: ...


class MlflowTracker(NullTracker):
    enabled = True

    def __init__(self, client: Any, run_id: str):
        self.client, self.run_id = client, run_id

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        import time

        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        batch = [Metric(k, float(v), ts, step or 0) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        for i in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, tags=items[i:i + 100])

    def log_artifact(self, path: str | os.PathLike, subdir: str | None = None) -> None:
        p = Path(path)
        if p.is_dir():
            self.client.log_artifacts(self.run_id, str(p), subdir)
        elif p.exists():
            self.client.log_artifact(self.run_id, str(p), subdir)


def _client_and_experiment(family: str, root: Path) -> tuple[Any, str]:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(root)
    client = MlflowClient(tracking_uri=uri)
    name = f"reprozoo/{family}"
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return client, exp.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:"):
        artifact_location = (Path(root).resolve() / "mlruns").as_uri()
    return client, client.create_experiment(name, artifact_location=artifact_location)


@contextlib.contextmanager
def training_run(family: str, *, enabled: bool, root: Path, stage: str,
                 params: Mapping[str, Any], tags: Mapping[str, str]) -> Iterator[NullTracker]:
    """Open the run for one training stage; mark it FAILED if the body raises.

    `root`: the project root (the store's default home, the git checkout); `tags`: the
    caller's identity tags (the stage scripts add the pipeline's stage and experiment)."""
    if not enabled:
        yield NullTracker()
        return
    client, exp_id = _client_and_experiment(family, root)
    all_tags = {
        "reprozoo.family": family,
        "params_hash": params_hash(params),
        "command": " ".join(sys.argv),
        **git_identity(Path(root)),
        **tags,
    }
    run = client.create_run(exp_id, run_name=f"{stage}", tags=all_tags)
    tracker = MlflowTracker(client, run.info.run_id)
    tracker.log_params(params)
    try:
        yield tracker
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id, status="FINISHED")


def find_training_run(family: str, model_file: Path, *, enabled: bool, root: Path) -> NullTracker:
    """The run that produced `model_file` (matched on its SHA-256), or a NullTracker."""
    if not enabled or not model_file.exists():
        return NullTracker()
    client, exp_id = _client_and_experiment(family, root)
    digest = sha256_file(model_file)
    runs = client.search_runs([exp_id], filter_string=f"tags.`{MODEL_TAG}` = '{digest}'",
                              order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        print(f"note: no MLflow run holds model {model_file} ({digest[:12]}); "
              "test metrics go to reports/ only", file=sys.stderr)
        return NullTracker()
    return MlflowTracker(client, runs[0].info.run_id)
