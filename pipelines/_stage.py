"""Shared entry wrapper for stage scripts: one-line errors and exit codes, no tracebacks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def run(main: Callable[[], object]) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    from reprozoo.errors import ReprozooError

    try:
        main()
    except ReprozooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: outputs of this stage were removed", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug or an unexpected library error: traceback, then one line
        import traceback

        traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__} in {os.path.basename(sys.argv[0])}: {exc}",
              file=sys.stderr)
        sys.exit(1)
