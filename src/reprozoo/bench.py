"""Benchmark results: one JSON per benchmark under reports/bench/, with the machine."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from reprozoo.io import write_json

BENCH_DIR = Path("reports/bench")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "processor": platform.processor()}
    try:
        import torch

        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    device="cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
    except ImportError:
        pass
    return info


def write_result(name: str, results: dict[str, Any], *, command: str | None = None) -> Path:
    """Write reports/bench/<name>.json: results + machine + the command that made them."""
    path = BENCH_DIR / f"{name}.json"
    write_json(path, {"benchmark": name, "command": command or " ".join(["python", *sys.argv]),
                      "machine": machine(), "results": results})
    print(f"wrote {path}", file=sys.stderr)
    return path
