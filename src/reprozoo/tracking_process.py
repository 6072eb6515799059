"""MLflow in a process beside the stage, so that its start-up overlaps the stage's own.

Importing MLflow and opening its store cost a stage about 4 s on 2 cores before it
trained anything, and torch's import another 3 s, one after the other. A stage with
tracking on now starts this process first (`TrackingProcess`), which imports MLflow,
opens the store and checks it while the stage imports torch and loads its data; the stage
waits for it only where it must:

- for each `log_artifact` / `log_model` (the stage moves those folders right after);
- at the end, until every metric, artifact and the run's end are written.

Everything else (the run's start or search, per-step metrics, params, tags) is sent
without waiting. The store check (reprozoo.tracking) answers while the stage trains: a
store that fails it stops the stage at its next per-step report, or at its first wait,
with one TrackingError naming the URI and the fixes. The model's signature comes from the
stage too (reprozoo.serving.example), so this process never imports torch. The process
logs with reprozoo.tracking's `MlflowTracker`, so a failure mid-run still warns once and
keeps the stage's results. It ignores Ctrl-C and SIGTERM (they reach the whole process
group): the stage unwinds, sends the run's end (KILLED) and waits; if the stage dies
without a word (SIGKILL), the process sees its pipe close and closes the run as FAILED.

Where it can, the process is forked from a warm one that has MLflow loaded already
(reprozoo.tracking_warm: milliseconds instead of seconds); the protocol is the same over
its socket, and a forked process that ends before its first reply is replaced by a
started one, which is sent everything again.

This module is the stage's side; the process itself is reprozoo.tracking_serve, which
also says the protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    """JSON for what the families log: NumPy scalars as numbers, anything else as text."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The values MlflowTracker.log_metrics keeps (numbers that are not booleans)."""
    from reprozoo.tracking import is_number

    return {k: float(v) for k, v in metrics.items() if is_number(v)}


class TrackingProcess:
    """The stage's side of the process: start it early, then open or find the run."""

    def __init__(self, family: str, root: Path):
        import reprozoo

        src = str(Path(reprozoo.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [src, *filter(None, [os.environ.get("PYTHONPATH")])]))
        self.quiet = False  # after the process is lost: one warning, then nothing
        self.pending: str | None = None  # the op whose reply (the run's) is still to come
        self.run_id: str | None = None
        self.env = env
        from reprozoo import tracking_warm

        # Forked from the warm MLflow process when it can be (milliseconds), else started.
        self.proc: Any = tracking_warm.fork_for_stage(env)
        # What a forked process was sent before its first reply: if it ends before that
        # reply (a warm process killed or broken), a started process gets it all again.
        self.unanswered: list[str] | None = [] if self.proc is not None else None
        if self.proc is None:
            self.proc = self._start()
        self._send({"op": "connect", "family": family, "root": str(Path(root))})

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "reprozoo.tracking_serve"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env,
                                text=True, bufsize=1)

    def _fall_back(self) -> bool:
        """The forked process ended before its first reply: start one, as without a warm
        process, and send it what the other was sent. False when there is nothing to redo."""
        if self.unanswered is None:
            return False
        lines, self.unanswered = self.unanswered, None
        print("note: the warm MLflow process did not answer; this stage starts its own "
              "tracking process", file=sys.stderr)
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc = self._start()
        try:
            self.proc.stdin.write("".join(lines))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # its reply (none) says so
        return True

    # -- messages -------------------------------------------------------------------------
    def _lost(self, what: str) -> None:
        if not self.quiet:
            self.quiet = True
            code = self.proc.poll()
            print(f"warning: the MLflow tracking process stopped (exit code {code}) during "
                  f"{what}; no more tracking for this run, results are kept", file=sys.stderr)

    def _send(self, msg: Mapping[str, Any]) -> bool:
        if self.quiet:
            return False
        line = json.dumps(msg, default=_plain) + "\n"
        if self.unanswered is not None:
            self.unanswered.append(line)
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            if self._fall_back():
                return True
            self.settle()  # a store that failed its check says so, before "process stopped"
            self._lost(str(msg.get("op")))
            return False

    def _reply(self, what: str) -> dict[str, Any] | None:
        line = self._line()
        if not line and self._fall_back():
            line = self._line()
        if not line:
            self._lost(what)
            return None
        self.unanswered = None
        return json.loads(line)

    def _line(self) -> str:
        try:
            return self.proc.stdout.readline()
        except OSError:  # a forked process's socket, reset as it ended: the same as its end
            return ""

    def _ask(self, msg: Mapping[str, Any]) -> dict[str, Any] | None:
        """Send and wait for the reply; None when the process is gone."""
        self.settle()
        if not self._send(msg):
            return None
        return self._reply(str(msg.get("op")))

    # -- runs -----------------------------------------------------------------------------
    def settle(self, wait: bool = True) -> None:
        """Take the reply to the run's start or search, if it is still to come: wait for it,
        or (`wait=False`) only when it has already arrived. Raises TrackingError when the
        store failed its check."""
        if self.pending is None:
            return
        if not wait:
            import select

            try:
                if not select.select([self.proc.stdout], [], [], 0)[0]:
                    return
            except (OSError, ValueError):
                pass
        op, self.pending = self.pending, None
        self.run_id = self._run_or_raise(self._reply(op))

    def _run_or_raise(self, reply: dict[str, Any] | None) -> str | None:
        from reprozoo.errors import TrackingError

        if reply is None:
            raise TrackingError(f"the MLflow tracking process exited (code {self.proc.poll()}) "
                                "before the run started; see the lines above, or set "
                                "`tracking: {enabled: false}` in params.yaml")
        if reply.get("error"):
            self.quiet = True  # the process ends after saying so
            raise TrackingError(reply["error"])
        return reply.get("run_id")

    def start_training_run(self, *, params: Mapping[str, Any], tags: Mapping[str, str]) -> RemoteTracker:
        """The run of this training stage. The stage does not wait for MLflow: training
        starts at once, and a store that fails its check stops it at its first report after
        the check's answer (`settle(wait=False)` in log_metrics), with one TrackingError
        naming the URI and the fixes."""
        if self._send({"op": "train_run", "params": params, "tags": dict(tags),
                       "argv": sys.argv, "pid": os.getpid()}):
            self.pending = "train_run"
        return RemoteTracker(self)

    def end(self, status: str = "FINISHED") -> None:
        """Finish what was sent, record the run's end (`status`), and wait for the process."""
        if self.proc.poll() is None and not self.quiet:
            from reprozoo.errors import TrackingError

            try:
                self._ask({"op": "end", "status": status})
            except TrackingError:
                if status == "FINISHED":
                    raise
        self.close()

    def find_training_run(self, model_file: Path) -> RemoteTracker:
        """The run that trained `model_file`, as a tracker; what it is sent is dropped when
        no run holds that model. The search runs while the stage evaluates."""
        if self._send({"op": "find_run", "model_file": str(Path(model_file).resolve())}):
            self.pending = "find_run"
        return RemoteTracker(self)

    def close(self) -> None:
        """Close the pipe and wait for the process (it ends the run as FAILED if still open).
        A forked process's replies are read to their end instead (its exit code comes last)."""
        streams = [self.proc.stdin]
        if isinstance(self.proc, subprocess.Popen):
            streams.append(self.proc.stdout)
        for stream in streams:
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            what = "stopped it" if isinstance(self.proc, subprocess.Popen) else "stopped waiting for it"
            print(f"warning: the MLflow tracking process did not finish within 120 s; {what}",
                  file=sys.stderr)
            self.proc.kill()
            self.proc.wait()


class RemoteTracker:
    """The tracker a family sees (reprozoo.tracking.NullTracker's surface); it forwards."""

    enabled = True

    def __init__(self, process: TrackingProcess):
        self.process = process

    @property
    def run_id(self) -> str | None:
        """The MLflow run's ID (waits for the process's answer)."""
        self.process.settle()
        return self.process.run_id

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.process.settle(wait=False)
        self.process._send({"op": "log_metrics", "metrics": _numbers(metrics), "step": step})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.process._send({"op": "log_params", "params": dict(params)})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.process._send({"op": "set_tags", "tags": {k: str(v) for k, v in tags.items()}})

    def log_artifact(self, path: str | os.PathLike, subdir: str | None = None) -> None:
        self.process._ask({"op": "log_artifact", "path": str(Path(path).resolve()), "subdir": subdir})

    def log_model(self, family: str, kind: str, model_dir: Path, data_dir: Path | None) -> None:
        """The stage runs the model on its input example here (torch is loaded in this
        process, not in MLflow's); the process logs and registers it."""
        from reprozoo import serving

        if not serving.servable(kind, family):
            return
        try:
            example = serving.example(kind, family, Path(model_dir), data_dir)
        except Exception as exc:  # noqa: BLE001 - the stage's results never depend on it
            from reprozoo.tracking import _first_line

            print(f"warning: the model of {family} did not predict on its MLflow input example "
                  f"({type(exc).__name__}: {_first_line(exc)}); it is not logged as an MLflow "
                  "model, the run and the DVC outputs are kept", file=sys.stderr)
            return
        self.process._ask({"op": "log_model", "family": family, "kind": kind,
                           "model_dir": str(Path(model_dir).resolve()), "example": example})

    def crown(self, family: str, kind: str, headline: Mapping[str, Any]) -> None:
        self.process._send({"op": "crown", "family": family, "kind": kind, "headline": dict(headline)})
