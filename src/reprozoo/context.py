"""What a family's `train` / `evaluate` receive: paths, runtime, tracker, history."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

from reprozoo.runtime import Runtime
from reprozoo.tracking import NullTracker

MODEL_FILE = "model.pt"


@dataclasses.dataclass
class Context:
    """Everything a family needs from the outside world; families do no other I/O setup.

    name        the family name (= its params.yaml section)
    data_dir    the data it reads (a prepare stage's output or a static file); None if none
    needs       its one extra input (another family's model folder, a static file), or None
    model_dir   models/<name>/: the family writes `model_path` (and nothing half-done)
    report_dir  reports/train/<name>/ (train) or reports/eval/<name>/ (evaluate): figures,
                curves and tables; everything here is also logged to MLflow
    """

    name: str
    profile: str
    data_dir: Path | None
    model_dir: Path
    report_dir: Path
    runtime: Runtime
    needs: Path | None = None
    tracker: Any = dataclasses.field(default_factory=NullTracker)
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)

    @property
    def device(self) -> Any:
        return self.runtime.device

    @property
    def seed(self) -> int:
        return self.runtime.seed

    @property
    def model_path(self) -> Path:
        return self.model_dir / MODEL_FILE

    def log_step(self, step: int, **metrics: float) -> None:
        """Record one epoch/step: to MLflow (with `step`) and to the history table."""
        row = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        self.history.append(row)
        self.tracker.log_metrics(metrics, step=step)

    def write_history(self, filename: str = "history.csv") -> Path | None:
        """Write the per-step history as CSV (a DVC plot); columns = union of keys."""
        if not self.history:
            return None
        cols: list[str] = []
        for row in self.history:
            cols += [k for k in row if k not in cols]
        path = self.report_dir / filename
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for row in self.history:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        return path
