"""One metrics writer for the DVC metrics file, its detail file and MLflow."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reprozoo.errors import TrainingError
from reprozoo.io import write_json


def check_finite(loss: float, step: int, what: str = "loss") -> float:
    """Stop the run on a non-finite loss: nothing is saved after this raises."""
    if not math.isfinite(loss):
        raise TrainingError(f"{what} became {loss} at step {step}; training stopped and no "
                            "model was saved (lower the learning rate or check the inputs)")
    return loss


DIVERGED = 2.0  # a loss that ends above this multiple of where it started has diverged


def check_not_diverged(start: float, end: float, what: str = "loss") -> None:
    """Stop a run whose loss ended far above where it started (e.g. a huge learning rate):
    like a non-finite loss, it fails before anything is published."""
    check_finite(end, -1, what)
    if math.isfinite(start) and end > DIVERGED * start and end - start > 1e-6:
        raise TrainingError(f"{what} diverged: it started at {start:.4g} and ended at {end:.4g} "
                            f"(over {DIVERGED:g}x); training stopped and no model was saved "
                            "(lower the learning rate)")


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts → one level with dotted keys (`{"cv": {"rmse": x}}` → `{"cv.rmse": x}`)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


DETAILS = "details.json"  # the whole evaluation, beside the family's evaluation figures


def write_details(path: Path, metrics: Mapping[str, Any]) -> Path:
    """Write a family's whole evaluation result (per-class values, sentences, rule sets):
    the numbers behind the headline, rounded to 6 digits so the file is stable."""
    write_json(path, _clean(dict(metrics)), ascii_only=True)
    return path


def write(path: Path, metrics: Mapping[str, Any], tracker: Any, *, kind: str) -> dict[str, Any]:
    """Write a family's headline numbers to `path` (the DVC metrics file, named by
    `reprozoo.vocabulary`) and log every scalar of the result to the tracker under the
    vocabulary's names (the headline names win where both exist). Returns the headline."""
    from reprozoo import vocabulary

    flat = flatten(_clean(dict(metrics)))
    head = vocabulary.headline(kind, flat)
    write_json(path, head, ascii_only=True)
    scalars = {vocabulary.canonical(k): v for k, v in flat.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    tracker.log_metrics({**scalars, **head})
    return head
