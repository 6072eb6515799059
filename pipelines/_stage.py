"""Shared entry wrapper for stage scripts: one-line errors and exit codes, no tracebacks.

Ctrl-C (SIGINT) and SIGTERM (`timeout`, a CI cancel, `docker stop`) both unwind the stage
through its cleanup: its partial outputs are removed, the previous ones kept, and its
MLflow run is closed as KILLED. Exit codes: 1 error, 130 SIGINT, 143 SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup path runs."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _project_interpreter() -> None:
    """Run under the project's venv (.venv beside pipelines/) even when DVC was started
    from another Python: `dvc repro` then works with or without the venv activated."""
    venv = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".venv"))
    if not os.path.isdir(venv) and os.environ.get("DVC_ROOT"):
        # A queued experiment runs in DVC's temporary copy (.dvc/tmp/exps/<tmp>/), which
        # holds only git-tracked files: the venv is the project's, at DVC_ROOT.
        venv = os.path.realpath(os.path.join(os.environ["DVC_ROOT"], ".venv"))
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) != venv and os.path.exists(python) \
            and not os.environ.get("REPROZOO_NO_REEXEC"):
        os.environ["REPROZOO_NO_REEXEC"] = "1"  # once
        os.execv(python, [python, *sys.argv])


def _check_packages() -> None:
    """A missing package is named as such (not blamed on data or params)."""
    import importlib.util

    missing = [m for m in ("numpy", "yaml", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: {sys.executable} lacks the package(s) {', '.join(missing)}: run the stage "
              "with the project's environment (`make setup`, then `source .venv/bin/activate` "
              "or `make repro`)", file=sys.stderr)
        sys.exit(1)


def _pin_cpu() -> None:
    """The cross-machine CPU pins (reprozoo/cpu_pins.py), set before NumPy or torch loads."""
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "src", "reprozoo", "cpu_pins.py")
    spec = importlib.util.spec_from_file_location("_reprozoo_cpu_pins", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.apply()


def _exit(code: int) -> None:
    """Leave without the interpreter's teardown of torch's, matplotlib's and scikit-learn's
    module graphs: a second or more of every stage on 2 cores. By now every output is
    written (atomically, and closed) and no child process is left; what the teardown would
    still do for us is flushing the logs and the standard streams, done here."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run(main: Callable[[], object]) -> None:
    """Run a stage's `main`; exit 0, or with the code and the one line its failure maps to."""
    try:
        _run(main)
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):  # sys.exit("message")
            print(code, file=sys.stderr)
            code = 1
        _exit(code or 0)
    _exit(0)


def _run(main: Callable[[], object]) -> None:
    _project_interpreter()
    _pin_cpu()
    _check_packages()
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    signal.signal(signal.SIGTERM, _on_sigterm)
    from reprozoo.errors import ReprozooError

    try:
        main()
    except ReprozooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        name = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"{name}: this stage's partial outputs were removed", file=sys.stderr)
        sys.exit(143 if isinstance(exc, Terminated) else 130)
    except Exception as exc:  # a bug or an unexpected library error: traceback, then one line
        import traceback

        traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__} in {os.path.basename(sys.argv[0])}: {exc}",
              file=sys.stderr)
        sys.exit(1)
