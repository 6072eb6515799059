"""Where each stage of the graph reads and writes: the one place that names the paths.

The stage scripts take their paths from here and `tools/graph.py` writes the same paths
into dvc.yaml (deps/outs), so a path is never typed twice. The library receives them as
arguments and knows nothing of this layout or of DVC.
"""

from __future__ import annotations

import os
from pathlib import Path

RAW = Path("data/raw")
PROCESSED = Path("data/processed")
MODELS = Path("models")
REPORTS = Path("reports")
# The hashes of the code every train and evaluate stage runs (stage `code`, their one code dep).
CODE = Path("data/code/stages.json")


def raw(dataset: str) -> Path:
    return RAW / dataset


def processed(dataset: str) -> Path:
    return PROCESSED / dataset


def model_dir(family: str) -> Path:
    return MODELS / family


def train_reports(family: str) -> Path:
    return REPORTS / "train" / family


def eval_reports(family: str) -> Path:
    return REPORTS / "eval" / family


def metrics_file(family: str) -> Path:
    return REPORTS / "metrics" / f"{family}.json"


def optional(path: str) -> Path | None:
    return Path(path) if path else None


def pipeline_identity(stage: str) -> tuple[Path, dict[str, str]]:
    """The project root and the MLflow tags that say which pipeline stage made a run.

    DVC exports DVC_ROOT, DVC_STAGE and DVC_EXP_NAME to the commands it runs; this is the
    only place that reads them (the library is handed the values)."""
    root = Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()
    return root, {"dvc.stage": os.environ.get("DVC_STAGE", stage),
                  "dvc.exp_name": os.environ.get("DVC_EXP_NAME", "")}
