"""Run one family's train or evaluate step (the hub every stage goes through; no DVC here).

The stage scripts in pipelines/ resolve where a stage reads and writes and pass it in as
`StageIO`; the library handles seeding, device choice, MLflow identity, clean output
folders and the metrics writer, so a family only has to fit and score its model.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reprozoo import checkpoint, families, metrics, runtime, tracking
from reprozoo.config import Params, to_dict
from reprozoo.context import Context
from reprozoo.io import sha256_file


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class StageIO:
    """Where one train/evaluate step reads and writes, and how its run is identified.

    data, needs   the family's inputs (None when it has none)
    model_dir     the model folder (written by train, read by evaluate)
    report_dir    figures and tables of this step (emptied first)
    metrics_file  evaluate only: the headline metrics JSON (the whole result goes to
                  report_dir/details.json)
    root          project root: home of the default MLflow store and the git checkout
    tags          identity tags the caller adds to the MLflow run (pipeline stage, experiment)
    """

    data: Path | None
    needs: Path | None
    model_dir: Path
    report_dir: Path
    metrics_file: Path | None = None
    root: Path = Path(".")
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _staging(final: Path) -> Path:
    """A hidden folder beside `final` where a step writes before it has succeeded."""
    return final.with_name(f".{final.name}.partial")


def _publish(staged: Path, final: Path) -> None:
    """Replace `final` by the complete `staged` folder (the old one goes only now)."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _setup(name: str, params: Params, io: StageIO) -> tuple[Any, Any, str, Context]:
    """The family's module, its config, its kind and the step's context."""
    entry = families.entry(params.raw, name, where=str(params.path))
    fam = families.load(entry.kind)
    cfg = params.build(fam.Config, name)
    rt = runtime.setup(params.seed, params.device)
    ctx = Context(name=name, profile=params.profile, data_dir=io.data, needs=io.needs,
                  model_dir=io.model_dir, report_dir=io.report_dir, runtime=rt)
    return fam, cfg, entry.kind, ctx


def _tracking_process(name: str, params: Params, io: StageIO) -> Any:
    """With tracking on, start MLflow's process now, before the family's imports, so that
    the two overlap (reprozoo.tracking_process); None with tracking off."""
    if not params.build(TrackingConfig, "tracking").enabled:
        return None
    from reprozoo.tracking_process import TrackingProcess

    return TrackingProcess(name, io.root)


def train_family(name: str, params: Params, io: StageIO) -> dict[str, Any]:
    """Train into staging folders; the previous model and figures are replaced only once
    the run (training, saving, tracking) has succeeded, and survive any failure."""
    staged = dataclasses.replace(io, model_dir=_staging(io.model_dir),
                                 report_dir=_staging(io.report_dir))
    side = _tracking_process(name, params, io)
    try:
        return _train(name, params, io, staged, side)
    finally:
        if side is not None:
            side.close()


def _train(name: str, params: Params, io: StageIO, staged: StageIO, side: Any) -> dict[str, Any]:
    fam, cfg, kind, ctx = _setup(name, params, staged)
    _fresh(ctx.model_dir)
    _fresh(ctx.report_dir)
    resolved = {"profile": params.profile, "seed": params.seed, "device": params.device,
                name: to_dict(cfg)}
    inputs = sorted({p for p in (io.data, io.needs) if p is not None})
    lock = io.root / "requirements.lock"
    tags = {"profile": params.profile, **ctx.runtime.describe(), **io.tags,
            "env.lock_sha256": sha256_file(lock) if lock.is_file() else "(no lock file)",
            **tracking.data_hashes(inputs)}
    print(f"train@{name}: profile={params.profile} device={ctx.device} seed={params.seed}",
          file=sys.stderr)
    tracker: Any = tracking.NullTracker()
    try:
        if side is not None:  # the store check answers while the family trains
            tracker = side.start_training_run(params=resolved, tags=tags)
        ctx.tracker = tracker
        final = fam.train(cfg, ctx) or {}
        ctx.write_history()
        tracker.log_metrics(final)
        if ctx.model_path.exists():
            tracker.set_tags({tracking.MODEL_TAG: sha256_file(ctx.model_path)})
            tracker.log_artifact(ctx.model_dir, "model")
            tracker.log_model(name, kind, ctx.model_dir, io.data)
        tracker.log_artifact(ctx.report_dir, "train")
        if side is not None:
            side.end("FINISHED")
    except BaseException as exc:
        # Nothing half-written: a failed or interrupted run leaves the previous outputs as
        # they were and removes its own.
        if side is not None and tracker.enabled:
            side.end("KILLED" if isinstance(exc, (KeyboardInterrupt, SystemExit)) else "FAILED")
        shutil.rmtree(ctx.model_dir, ignore_errors=True)
        shutil.rmtree(ctx.report_dir, ignore_errors=True)
        raise
    _publish(ctx.model_dir, io.model_dir)
    _publish(ctx.report_dir, io.report_dir)
    return final


def evaluate_family(name: str, params: Params, io: StageIO) -> dict[str, Any]:
    """Score the model; figures go to a staging folder that replaces the old one on success."""
    side = _tracking_process(name, params, io)
    try:
        result = _evaluate(name, params, io, side)
    except BaseException:
        if side is not None:
            side.end("FAILED")  # (an evaluate run has no end of its own: this closes the process)
        raise
    if side is not None:
        side.end()
    return result


def _evaluate(name: str, params: Params, io: StageIO, side: Any) -> dict[str, Any]:
    fam, cfg, kind, ctx = _setup(name, params, dataclasses.replace(io, report_dir=_staging(io.report_dir)))
    if io.metrics_file is None:
        raise ValueError("evaluate_family needs io.metrics_file")
    # Fail early with the fix, before a family tries to read a missing or broken model.
    checkpoint.load(ctx.model_path, family=name, config_cls=fam.Config)
    _fresh(ctx.report_dir)
    if side is not None and ctx.model_path.exists():
        ctx.tracker = side.find_training_run(ctx.model_path)
    try:
        result = fam.evaluate(cfg, ctx)
        metrics.write_details(ctx.report_dir / metrics.DETAILS, result)
        ctx.tracker.log_artifact(ctx.report_dir, "eval")
        _publish(ctx.report_dir, io.report_dir)
        head = metrics.write(io.metrics_file, result, ctx.tracker, kind=kind)
        ctx.tracker.crown(name, kind, head)  # the registry's `champion` alias, if this one beats it
    except BaseException:
        shutil.rmtree(ctx.report_dir, ignore_errors=True)
        raise
    return result
