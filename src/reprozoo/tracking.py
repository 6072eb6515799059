"""The one module that talks to MLflow.

Default store: ``sqlite:///<root>/mlflow.db`` with artifacts under ``<root>/mlruns``,
where <root> is the project root the caller names (the stage scripts pass DVC's root;
a root inside one of DVC's temporary experiment workspaces, ``<project>/.dvc/tmp/exps/…``,
which DVC deletes after the run, means the project around it).
``MLFLOW_TRACKING_URI`` overrides the store (a real server). One experiment for every
family (``reprozoo``; ``MLFLOW_EXPERIMENT_NAME`` overrides it), each run tagged with its
``family``, so that MLflow's compare view sets an SLP, a CNN and the NumPy network side by
side: metric names follow ``reprozoo.vocabulary`` (``test/accuracy`` is one column for
all) and params are logged without the family prefix (``lr`` lines up across families).
A family's own view is the filter ``tags.family = 'cnn'``. One run per training stage;
the evaluate stage finds that run again by the SHA-256 of the model file it evaluates and
adds the test metrics to it.
With ``tracking.enabled: false`` every call is a no-op and no other output changes.

Results first, tracking second: the store is checked as training starts, with a short
timeout (an unreachable server, a read-only or corrupt store, bad credentials: one
`TrackingError` naming the URI and the fixes, at the stage's first per-epoch report after
the answer; reprozoo.tracking_process). Once a run has started, a tracking failure
never loses what was trained: the tracker prints one warning, stops logging, and the
stage keeps and writes its results.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reprozoo.io import sha256_file
from reprozoo.metrics import flatten

MODEL_TAG = "reprozoo.model_sha256"
FAMILY_TAG = "family"
DEFAULT_EXPERIMENT = "reprozoo"


def experiment_name() -> str:
    """The experiment every run goes to: MLflow's own `MLFLOW_EXPERIMENT_NAME`, else `reprozoo`."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


def run_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params as logged: the family's own section without its prefix (`lr`, not
    `cnn.lr`, so one column lines up across families), beside the global ones."""
    own = params.get(family)
    rest = {k: v for k, v in params.items() if k != family}
    return {**rest, **(dict(own) if isinstance(own, Mapping) else {})}
EXPERIMENT_KIND = "mlflow.experimentKind"


_EXP_TEMP = (".dvc", "tmp", "exps")


def _exp_workspace_project(path: Path) -> Path | None:
    """The project whose DVC queue (or `dvc exp run --temp`) runs in `path`: DVC runs such
    experiments in a temporary copy, <project>/.dvc/tmp/exps/<tmpdir>, removed afterwards."""
    parts = Path(path).resolve().parts
    for i in range(1, len(parts) - len(_EXP_TEMP)):
        if parts[i:i + len(_EXP_TEMP)] == _EXP_TEMP:
            return Path(*parts[:i])
    return None


def store_home(root: Path) -> Path:
    """Where the default store lives: the project root, never a temporary experiment copy
    (DVC 3 already exports the project's root as DVC_ROOT there; this also covers callers
    that pass the working directory)."""
    return _exp_workspace_project(Path(root)) or Path(root).resolve()


def checkout_dir(root: Path) -> Path:
    """The git checkout whose code and params this process runs: the temporary experiment
    copy when it runs in one (its HEAD is the experiment's baseline, its changes are the
    experiment's -S overrides), else `root`."""
    cwd = Path.cwd()
    return cwd if _exp_workspace_project(cwd) is not None else Path(root)


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_home(root) / 'mlflow.db'}"


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


def run_name(family: str, tags: Mapping[str, str]) -> str:
    """`<family> · <profile> · <DVC experiment>` (outside an experiment: the short commit),
    so that runs of one family on two profiles or two experiments differ in chart legends."""
    where = tags.get("dvc.exp_name") or (tags.get("git.commit") or "")[:7] or "workspace"
    return f"{family} · {tags.get('profile', '?')} · {where}"


def standard_tags(root: Path, git: Mapping[str, str], argv: list[str] | None = None) -> dict[str, str]:
    """MLflow's own tags, which fill the run page's Source, Created by and Git commit."""
    import getpass

    argv = sys.argv if argv is None else argv
    script = Path(argv[0]) if argv and argv[0] else Path("python")
    try:
        source = script.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        source = script.name
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"mlflow.source.name": source, "mlflow.source.type": "LOCAL", "mlflow.user": user,
            "mlflow.source.git.commit": git.get("git.commit", "none")}


def _dataset_of(path: str) -> str:
    """The input a hashed file belongs to: data/processed/<set>, else the file's folder."""
    parts = Path(path).parts
    if len(parts) > 3 and parts[:2] == ("data", "processed"):
        return "/".join(parts[:3])
    return path if len(parts) < 2 or parts[0] == "data" else "/".join(parts[:2])


def datasets(hashes: Mapping[str, str], root: Path) -> list[Any]:
    """`data.sha256.<file>` tags grouped into one MLflow dataset input per input folder:
    name = the folder's last part, digest = the first 32 hex digits of the SHA-256 over its
    files' SHA-256s (MLflow stores 36 characters at most), source = the folder; the full
    tree hash and the SHA-256s that the fetch stage verified (data/raw/<set>/MANIFEST.json)
    are in the dataset's profile."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    groups: dict[str, dict[str, str]] = {}
    for key, digest in sorted(hashes.items()):
        if key.startswith("data.sha256."):
            f = key[len("data.sha256."):]
            groups.setdefault(_dataset_of(f), {})[f] = digest
    out = []
    for folder, files in groups.items():
        tree = hashlib.sha256("".join(f"{d}  {f}\n" for f, d in files.items()).encode()).hexdigest()
        name = Path(folder).name
        profile: dict[str, Any] = {"sha256": tree, "files": len(files)}
        manifest = Path(root) / "data" / "raw" / name / "MANIFEST.json"
        if folder.startswith("data/processed/") and manifest.is_file():
            try:
                profile["fetched"] = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
            except (OSError, ValueError):
                pass
        uri = (Path(root).resolve() / folder).as_uri()
        ds = Dataset(name=name, digest=tree[:32], source_type="local",
                     source=json.dumps({"uri": uri}), profile=json.dumps(profile, sort_keys=True))
        out.append(DatasetInput(dataset=ds, tags=[InputTag(key="mlflow.data.context", value="training")]))
    return out


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


def is_number(value: Any) -> bool:
    """A metric value: a Python or NumPy number, not a boolean."""
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)  # np.bool_ is no Real


class NullTracker:
    """Tracking disabled: same surface, does nothing."""

    enabled = False
    run_id = None

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...
    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def set_tags(self, tags: Mapping[str, str]) -> None: ...
    def log_artifact(self, path: str | os.PathLike, subdir: str | None = None) -> None: ...
    def log_model(self, family: str, kind: str, model_dir: Path, data_dir: Path | None) -> None: ...
    def crown(self, family: str, kind: str, headline: Mapping[str, Any]) -> None: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _fixes(uri: str) -> str:
    return (f"MLflow store {uri} is not usable; start it or point MLFLOW_TRACKING_URI at a "
            "running server, or set `tracking: {enabled: false}` in params.yaml")


def _http_status(exc: BaseException) -> int | None:
    """401/403 from an MLflow server (the REST client puts the code in its message)."""
    text = str(exc)
    for code in (401, 403):
        if f"error code {code} " in text or f"HTTP {code}" in text:
            return code
    return None


def _store_error(uri: str, exc: BaseException) -> str:
    """The one line a store failure becomes; bad credentials and missing rights say so."""
    status = _http_status(exc)
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or "(none)"
    if status == 401:
        return (f"MLflow store {uri} refused the credentials of user {user} (HTTP 401: wrong or "
                "missing MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD); set them (team "
                "mode: `source .team/env`), or set `tracking: {enabled: false}` in params.yaml")
    if status == 403:
        return (f"MLflow store {uri} denied user {user} permission to write runs (HTTP 403: "
                "the account is read-only here); use an account with EDIT permission on the "
                "experiment (team mode: `source .team/env`), or set `tracking: {enabled: false}` "
                "in params.yaml")
    return f"{_fixes(uri)} ({type(exc).__name__}: {_first_line(exc)})"


class MlflowTracker(NullTracker):
    """Logs to one MLflow run. After a failure it warns once and goes quiet (the stage's
    results never depend on the tracking server)."""

    enabled = True

    def __init__(self, client: Any, run_id: str, uri: str = ""):
        self.client, self.run_id = client, run_id
        self.uri = uri or getattr(client, "tracking_uri", "") or "(unknown store)"
        self.broken = False
        self.last_step: int | None = None

    def _safely(self, what: str, fn: Any) -> None:
        if self.broken:
            return
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - any client/server error: keep the results
            self.broken = True
            left = ""
            if what == "set_terminated":
                left = (f"; run {self.run_id} stays RUNNING there until the next train stage of "
                        "this family or `tools/team.py up` (make team-up) closes it as FAILED")
            print(f"warning: MLflow {what} failed at {self.uri} ({_first_line(exc)}); no more "
                  f"tracking for this run, results are kept{left}", file=sys.stderr)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        import time

        from mlflow.entities import Metric

        from reprozoo.vocabulary import canonical

        # A value without a step (a run's final numbers) belongs to the run's last logged
        # step, so a per-epoch curve and its final value never disagree on where they are.
        if step is None:
            step = self.last_step or 0
        else:
            self.last_step = max(step, self.last_step or step)
        ts = int(time.time() * 1000)
        batch = [Metric(canonical(k), float(v), ts, step) for k, v in metrics.items() if is_number(v)]
        if batch:
            self._safely("log_metrics", lambda: self.client.log_batch(self.run_id, metrics=batch))

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        for i in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            chunk = items[i:i + 100]
            self._safely("log_params", lambda: self.client.log_batch(self.run_id, params=chunk))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            chunk = items[i:i + 100]
            self._safely("set_tags", lambda: self.client.log_batch(self.run_id, tags=chunk))

    def log_artifact(self, path: str | os.PathLike, subdir: str | None = None) -> None:
        p = Path(path)
        if p.is_dir():
            self._safely("log_artifacts", lambda: self.client.log_artifacts(self.run_id, str(p), subdir))
        elif p.exists():
            self._safely("log_artifact", lambda: self.client.log_artifact(self.run_id, str(p), subdir))


    def log_model(self, family: str, kind: str, model_dir: Path, data_dir: Path | None, *,
                  example: Mapping[str, Any]) -> None:
        """Log the family's model as an MLflow model (reprozoo.serving) and register it as
        `reprozoo-<family>`; `example`: reprozoo.serving.example's input and output, which the
        stage computed from `data_dir` (reprozoo.tracking_process). A failure warns and leaves
        the run's other logging on."""
        from reprozoo import serving

        if self.broken or not serving.servable(kind, family):
            return
        try:
            info = serving.log(self.run_id, self.uri, family, kind, Path(model_dir), example)
            version = getattr(info, "registered_model_version", None)
            print(f"MLflow model: {serving.registered_name(family)} version {version}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - the stage's results never depend on it
            print(f"warning: MLflow could not log or register the model of {family} at {self.uri} "
                  f"({_first_line(exc)}); the run and the DVC outputs are kept", file=sys.stderr)

    def crown(self, family: str, kind: str, headline: Mapping[str, Any]) -> None:
        """Set the alias `champion` of `reprozoo-<family>` to this run's model version when
        its headline metric (reprozoo.serving.PRIMARY) beats the current champion's, and say so."""
        from reprozoo import serving

        if self.broken or not serving.servable(kind, family):
            return
        metric, better = serving.PRIMARY[kind]
        name = serving.registered_name(family)
        try:
            mine = self.client.search_model_versions(f"name = '{name}' and run_id = '{self.run_id}'")
            value = headline.get(metric)
            if not mine or value is None:
                print(f"note: no registered {name} version for this run; champion unchanged", file=sys.stderr)
                return
            version = max(mine, key=lambda v: int(v.version))
            try:
                champ = self.client.get_model_version_by_alias(name, "champion")
            except Exception:  # noqa: BLE001 - no champion yet
                champ = None
            old = None
            if champ is not None and champ.run_id:
                old = self.client.get_run(champ.run_id).data.metrics.get(metric)
            wins = old is None or (value > old if better == "max" else value < old)
            if champ is not None and str(champ.version) == str(version.version):
                print(f"champion: {name} v{version.version} already ({metric} {value:.4g})", file=sys.stderr)
            elif wins:
                self.client.set_registered_model_alias(name, "champion", version.version)
                was = "" if champ is None else f"; was v{champ.version}" + ("" if old is None else f" with {old:.4g}")
                print(f"champion: {name} v{version.version} ({metric} {value:.4g}{was})", file=sys.stderr)
            else:
                print(f"champion: {name} stays v{champ.version} ({metric} {old:.4g}; this run "
                      f"v{version.version} has {value:.4g})", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not update the champion of {name} at {self.uri} ({_first_line(exc)})",
                  file=sys.stderr)


def _client_and_experiment(family: str, root: Path) -> tuple[Any, str]:
    """The client and the family's experiment; any store problem is one TrackingError."""
    from reprozoo.errors import TrackingError

    uri = tracking_uri(root)
    try:
        return _open(family, root, uri)
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow/SQLAlchemy/HTTP errors of every kind
        raise TrackingError(_store_error(uri, exc)) from None


def _open(family: str, root: Path, uri: str) -> tuple[Any, str]:
    import logging

    from reprozoo.errors import TrackingError

    # Seconds, not minutes: MLflow's client retries an unreachable server for ~4 minutes.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    # MLflow 3's usage telemetry (it warms up the Databricks SDK, and uploads at exit):
    # off unless the user sets the variable.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    first_use: Any = contextlib.nullcontext()
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        if (db.exists() and not os.access(db, os.W_OK)) or not os.access(db.parent, os.W_OK):
            raise TrackingError(f"{_fixes(uri)} (not writable: {db if db.exists() else db.parent})")
        first_use = _sqlite_first_use(db)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with first_use:
        return _experiment(family, root, uri)


@contextlib.contextmanager
def _sqlite_first_use(db: Path) -> Iterator[None]:
    """One process at a time opens the sqlite store until its schema is there.

    MLflow creates and migrates a new store's tables (alembic) on first use; two stages
    doing that at once (`dvc queue start -j 2` where no mlflow.db exists yet) leave it
    half-migrated for good ("table _alembic_tmp_tags already exists"). The lock is flock()
    on the database file itself: SQLite's own locks are fcntl() locks, independent of it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no parallel queue workers to guard against here
        yield
        return
    with open(db, "ab") as handle:  # an empty file is an empty SQLite database
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _experiment(family: str, root: Path, uri: str) -> tuple[Any, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    name = experiment_name()
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if EXPERIMENT_KIND not in exp.tags:  # made before the tag existed here
            with contextlib.suppress(Exception):
                client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND, "custom_model_development")
        return client, exp.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:"):
        artifact_location = (store_home(root) / "mlruns").as_uri()
    try:
        # "custom_model_development": MLflow 3's UI opens the experiment on its runs (the
        # machine-learning view), not on the empty GenAI traces tab
        return client, client.create_experiment(name, artifact_location=artifact_location,
                                                tags={EXPERIMENT_KIND: "custom_model_development"})
    except Exception as exc:
        # Parallel stages (`dvc queue start -j 2`) race to create the family's experiment:
        # the loser finds the one the winner made.
        if getattr(exc, "error_code", None) == "RESOURCE_ALREADY_EXISTS":
            exp = client.get_experiment_by_name(name)
            if exp is not None:
                return client, exp.experiment_id
        raise


def start_training_run(family: str, *, root: Path, params: Mapping[str, Any],
                       tags: Mapping[str, str], argv: list[str] | None = None,
                       pid: int | None = None) -> MlflowTracker:
    """Create the run of one training stage and log its params and data sets.

    `argv`/`pid`: the stage process's command line and PID when another process logs for
    it (reprozoo.tracking_process); the orphan check closes the run once that PID is gone."""
    from reprozoo.errors import TrackingError

    argv = list(sys.argv if argv is None else argv)
    client, exp_id = _client_and_experiment(family, root)
    close_orphans(client, exp_id)
    git = git_identity(checkout_dir(root))
    all_tags = {
        FAMILY_TAG: family,
        "reprozoo.family": family,
        "reprozoo.host": socket.gethostname(),
        "reprozoo.pid": str(os.getpid() if pid is None else pid),
        "params_hash": params_hash(params),
        "command": " ".join(argv),
        **git,
        **standard_tags(root, git, argv),
        **tags,
    }
    try:
        run = client.create_run(exp_id, run_name=run_name(family, all_tags), tags=all_tags)
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only or corrupt store, bad credentials
        raise TrackingError(_store_error(tracking_uri(root), exc)) from None
    tracker = MlflowTracker(client, run.info.run_id, tracking_uri(root))
    tracker.end_client = client  # the run's end is recorded even after a logging failure
    tracker.log_params(run_params(family, params))
    tracker._safely("log_inputs", lambda: client.log_inputs(run.info.run_id,
                                                            datasets=datasets(all_tags, root)))
    return tracker


def end_training_run(tracker: MlflowTracker, status: str = "FINISHED") -> None:
    """Record the run's end: FINISHED (even after a logging hiccup), FAILED or KILLED."""
    if status == "FINISHED":
        tracker.broken = False
    client = getattr(tracker, "end_client", tracker.client)
    tracker._safely("set_terminated", lambda: client.set_terminated(tracker.run_id, status=status))


@contextlib.contextmanager
def training_run(family: str, *, enabled: bool, root: Path, stage: str,
                 params: Mapping[str, Any], tags: Mapping[str, str]) -> Iterator[NullTracker]:
    """Open the run for one training stage in this process; mark it FAILED if the body
    raises (KILLED on Ctrl-C or SIGTERM).

    `root`: the project root (the store's default home, the git checkout); `tags`: the
    caller's identity tags (the stage scripts add the pipeline's stage and experiment).
    The stages log from a process beside them instead (reprozoo.tracking_process)."""
    if not enabled:
        yield NullTracker()
        return
    tracker = start_training_run(family, root=root, params=params, tags=tags)
    try:
        yield tracker
    except BaseException as exc:
        end_training_run(tracker, "KILLED" if isinstance(exc, (KeyboardInterrupt, SystemExit)) else "FAILED")
        raise
    end_training_run(tracker)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def close_orphans(client: Any, exp_id: str) -> int:
    """Close as FAILED the runs left RUNNING by a process of this machine that is gone
    (a SIGKILL, a crash, a power cut). Returns how many it closed; never raises."""
    host, closed = socket.gethostname(), 0
    try:
        runs = client.search_runs([exp_id], filter_string="attributes.status = 'RUNNING'",
                                  max_results=100)
        for r in runs:
            tags = r.data.tags
            pid = tags.get("reprozoo.pid", "")
            if tags.get("reprozoo.host") == host and pid.isdigit() and not _alive(int(pid)) \
                    and int(pid) != os.getpid():
                client.set_tag(r.info.run_id, "reprozoo.closed_by", "orphan check: process gone")
                client.set_terminated(r.info.run_id, status="FAILED")
                closed += 1
    except Exception as exc:  # noqa: BLE001 - a courtesy, never a reason to fail a stage
        print(f"warning: could not check for runs left RUNNING ({_first_line(exc)})", file=sys.stderr)
    if closed:
        print(f"note: closed {closed} MLflow run(s) left RUNNING by a process that is gone",
              file=sys.stderr)
    return closed


def find_training_run(family: str, model_file: Path, *, enabled: bool, root: Path) -> NullTracker:
    """The run that produced `model_file` (matched on its SHA-256), or a NullTracker."""
    if not enabled or not model_file.exists():
        return NullTracker()
    client, exp_id = _client_and_experiment(family, root)
    digest = sha256_file(model_file)
    runs = client.search_runs([exp_id], filter_string=f"tags.`{MODEL_TAG}` = '{digest}' "
                              f"and tags.`{FAMILY_TAG}` = '{family}'",
                              order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        print(f"note: no MLflow run holds model {model_file} ({digest[:12]}); "
              "test metrics go to reports/ only", file=sys.stderr)
        return NullTracker()
    return MlflowTracker(client, runs[0].info.run_id, tracking_uri(root))
