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


def run(main: Callable[[], object]) -> None:
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
