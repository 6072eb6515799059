"""Run one family's train or evaluate step from parsed params (no DVC knowledge here).

The stage scripts in pipelines/ call `train_family` / `evaluate_family`; the library
handles seeding, device choice, MLflow identity, clean output folders and the metrics
writer, so a family module only has to fit and score its model.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path
from typing import Any

from reprozoo import checkpoint, families, metrics, runtime, tracking
from reprozoo.config import Params, build, param, to_dict
from reprozoo.context import Context
from reprozoo.errors import ConfigError
from reprozoo.io import sha256_file


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    """One `families:` entry in params.yaml (also read by dvc.yaml's foreach)."""

    data: str = param("", doc="prepared data folder the family reads")
    needs: str = param("", doc="one more input (another model, a static file); = data if none")
    code: str = param("", doc="the family's module (a DVC code dependency)")
    deterministic: bool = True


def _entry(params: Params, name: str) -> FamilyEntry:
    fams = params.raw.get("families") or {}
    if name not in fams:
        known = ", ".join(sorted(fams)) or "none"
        raise ConfigError(f"{params.path}: unknown family {name!r}; families: {known}")
    entry = build(FamilyEntry, fams[name], where=f"{params.path}: families.{name}")
    families.get(name)  # unknown to the library → clear error
    return entry


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _context(params: Params, name: str, entry: FamilyEntry, kind: str) -> Context:
    rt = runtime.setup(params.seed, params.device, entry.deterministic)
    return Context(
        name=name, profile=params.profile, data_dir=Path(entry.data),
        model_dir=Path("models") / name, report_dir=Path("reports") / kind / name,
        runtime=rt,
    )


def train_family(name: str, params: Params) -> dict[str, Any]:
    entry = _entry(params, name)
    fam = families.get(name)
    cfg = params.build(fam.Config, name)
    tcfg = params.build(TrackingConfig, "tracking")
    ctx = _context(params, name, entry, "train")
    _fresh(ctx.model_dir)
    _fresh(ctx.report_dir)
    resolved = {"profile": params.profile, "seed": params.seed, "device": params.device,
                name: to_dict(cfg)}
    tags = {"profile": params.profile, **ctx.runtime.describe(),
            **tracking.data_hashes(sorted({ctx.data_dir, Path(entry.needs or entry.data)}))}
    print(f"train@{name}: profile={params.profile} device={ctx.device} seed={params.seed}",
          file=sys.stderr)
    try:
        with tracking.training_run(name, enabled=tcfg.enabled, stage=f"train@{name}",
                                   params=resolved, tags=tags) as tracker:
            ctx.tracker = tracker
            final = fam.train(cfg, ctx) or {}
            ctx.write_history()
            tracker.log_metrics(final)
            if ctx.model_path.exists():
                tracker.set_tags({tracking.MODEL_TAG: sha256_file(ctx.model_path)})
                tracker.log_artifact(ctx.model_dir, "model")
            tracker.log_artifact(ctx.report_dir, "train")
    except BaseException:
        # Nothing half-written: a failed or interrupted run leaves no model and no figures.
        shutil.rmtree(ctx.model_dir, ignore_errors=True)
        shutil.rmtree(ctx.report_dir, ignore_errors=True)
        raise
    return final


def evaluate_family(name: str, params: Params) -> dict[str, Any]:
    entry = _entry(params, name)
    fam = families.get(name)
    cfg = params.build(fam.Config, name)
    tcfg = params.build(TrackingConfig, "tracking")
    ctx = _context(params, name, entry, "eval")
    if not ctx.model_path.exists():
        # Fail early with the fix, before a family tries to read it.
        checkpoint.load(ctx.model_path, family=name)
    _fresh(ctx.report_dir)
    ctx.tracker = tracking.find_training_run(name, ctx.model_path, enabled=tcfg.enabled)
    try:
        result = fam.evaluate(cfg, ctx)
        metrics.write(name, result, ctx.tracker)
        ctx.tracker.log_artifact(ctx.report_dir, "eval")
    except BaseException:
        shutil.rmtree(ctx.report_dir, ignore_errors=True)
        raise
    return result
