"""The tracking process itself: it reads a stage's messages and logs them to MLflow.

The stage's side is reprozoo.tracking_process (`TrackingProcess`), which starts this
module as a process (`python -m reprozoo.tracking_serve`), or has it forked ready from the
warm process (reprozoo.tracking_warm, which calls `quiet_mlflow` and `_serve` in the child).

Protocol: one JSON object per line on the process's stdin; the replies (one JSON object
per line) come on a private copy of its stdout, whose own descriptor goes to stderr so that
nothing MLflow prints can mix with them. A forked process gets both over its socket.
The stage waits for a reply only to the messages in `_ASKS`.

    python -m reprozoo.tracking_serve      (started by TrackingProcess, not by hand)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Replies the stage waits for; every other message is fire-and-forget.
_ASKS = {"train_run", "find_run", "log_artifact", "log_model", "end"}


def _skip_dependency_scan() -> None:
    """MLflow's Model.log compares the model's stated requirements (here mlflow and torch)
    with the environment through importlib_metadata.packages_distributions(), which reads
    every installed package's file list: 1.5-1.9 s a stage. The map it builds is seeded
    with the two packages a reprozoo model states; a later MLflow without that private
    name simply scans as before."""
    try:
        from mlflow.utils import requirements_utils as ru
    except ImportError:
        return
    if getattr(ru, "_MODULES_TO_PACKAGES", 0) is None:
        ru._MODULES_TO_PACKAGES = {"mlflow": ["mlflow"], "torch": ["torch"]}


def _warm_up() -> None:
    """While the stage trains (on the other core): import what logging its model needs at
    the end. Not torch: the stage sends the model's output on its input example."""
    import mlflow.pyfunc  # noqa: F401
    from mlflow.models import Model, infer_signature  # noqa: F401

    _skip_dependency_scan()


def _serve(requests: Any, replies: Any) -> None:
    from reprozoo import tracking
    from reprozoo.errors import TrackingError

    def reply(**fields: Any) -> None:
        try:
            replies.write(json.dumps(fields) + "\n")
            replies.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the stage is gone without reading it: its stdin's end says how it ended

    family = root = error = None
    tracker: Any = None
    training = ended = False
    for line in requests:
        msg = json.loads(line)
        op = msg.pop("op")
        if op == "connect":
            family, root = msg["family"], Path(msg["root"])
            try:  # the store check (a training run's start also closes orphaned runs)
                tracking._client_and_experiment(family, root)
            except TrackingError as exc:
                error = str(exc)
        elif op in ("train_run", "find_run"):
            if error is None:
                try:
                    if op == "train_run":
                        tracker = tracking.start_training_run(family, root=root, **msg)
                        training = True
                    else:
                        tracker = tracking.find_training_run(family, Path(msg["model_file"]),
                                                             enabled=True, root=root)
                except TrackingError as exc:
                    error = str(exc)
            reply(error=error, run_id=getattr(tracker, "run_id", None))
            if error is not None:
                return
            if training:
                _warm_up()
        elif op == "end":
            if training:
                tracking.end_training_run(tracker, msg["status"])
            ended = True
            reply(done=True)
            return
        else:  # log_metrics, log_params, set_tags, log_artifact, log_model, crown
            if tracker is not None:
                if op == "log_artifact":
                    tracker.log_artifact(msg["path"], msg["subdir"])
                elif op == "log_model":
                    tracker.log_model(msg["family"], msg["kind"], Path(msg["model_dir"]), None,
                                      example=msg["example"])
                else:
                    getattr(tracker, op)(**msg)
            if op in _ASKS:
                reply(done=True)
    if training and not ended:  # the stage is gone without saying how it ended
        tracking.end_training_run(tracker, "FAILED")


def quiet_mlflow() -> None:
    """What a tracking process sets before MLflow runs: no signals, telemetry, or noise."""
    import signal

    # Ctrl-C and SIGTERM reach the whole process group; the stage answers them by sending
    # the run's end, which this process must still be alive to record.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # MLflow 3's usage telemetry warms up the Databricks SDK and, offline, waits for its
    # upload at exit: seconds a stage. Off unless the user sets the variable.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # A stage's log shows its own progress, not that of MLflow copying the model it is
    # checking, nor the advice to type-hint a predict() that takes whatever the model takes.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import warnings

    shown = warnings.showwarning

    def showwarning(message: Any, *args: Any, **kwargs: Any) -> None:
        if "Add type hints to the `predict` method" not in str(message):
            shown(message, *args, **kwargs)

    warnings.showwarning = showwarning  # (a filter is not enough: MLflow resets them)


def main() -> None:
    quiet_mlflow()
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin, replies)
    # Skip the interpreter's teardown of MLflow's module graph (seconds); every reply and
    # every store write is done by now.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
