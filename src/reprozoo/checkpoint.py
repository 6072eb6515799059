"""Checkpoints: the one save and the one load of every family's model file.

A checkpoint is a plain dict ``{"format", "family", "config", "state", "meta"}`` of tensors
and plain Python values, so ``torch.load(..., weights_only=True)`` reads it safely and a
model is rebuilt from the config saved beside its weights (nanoGPT's shape: no pickled
classes). ``load`` validates all of it against the family's config class: a file that is
missing, truncated, empty, a folder, of another family, or whose config lacks a key, has
an unknown one or a wrong type raises one `CheckpointError` that names the file and the fix.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path
from typing import Any, Generic, TypeVar

from reprozoo.errors import CheckpointError, ConfigError
from reprozoo.io import atomic_path

FORMAT = 1
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Checkpoint(Generic[T]):
    """A loaded, validated checkpoint: `config` is an instance of the family's config class."""

    path: Path
    family: str
    config: T
    state: dict[str, Any]
    meta: dict[str, Any]


def save(path: str | os.PathLike, *, family: str, config: Any, state: dict[str, Any],
         meta: dict[str, Any] | None = None) -> Path:
    """Write `state` with the family name and its config (a config dataclass) atomically."""
    import torch

    from reprozoo.config import to_dict

    if not dataclasses.is_dataclass(config):
        raise TypeError(f"checkpoint.save: config must be a config dataclass, got {type(config).__name__}")
    # A fresh copy of the name: pickle stores an object seen twice as a back-reference, so a
    # name that happens to be the same (interned) object as a key in `state` would change the
    # file's bytes, not its content, depending on how the caller obtained the string.
    family = family.encode().decode()
    blob = {"format": FORMAT, "family": family, "config": to_dict(config), "state": state,
            "meta": meta or {}}
    # Serialize to memory first: torch.save names the archive's root folder after the file,
    # so saving straight to a random temp name would make identical models hash apart.
    buf = io.BytesIO()
    torch.save(blob, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


def load(path: str | os.PathLike, *, family: str, config_cls: type[T],
         map_location: Any = "cpu") -> Checkpoint[T]:
    """Load `path`, check it belongs to `family` and rebuild its config as `config_cls`."""
    import pickle
    import zipfile

    import torch

    from reprozoo.config import build

    path = Path(path)
    fix = f"rebuild it with `dvc repro train@{family}`"
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint; {fix}")
    if not path.is_file():
        raise CheckpointError(f"{path}: is not a file; {fix}")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError,
            zipfile.BadZipFile, IndexError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path}: not a readable reprozoo checkpoint ({first}); {fix}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a reprozoo checkpoint (format {FORMAT} expected); {fix}")
    if blob.get("family") != family:
        raise CheckpointError(f"{path}: checkpoint is for family {blob.get('family')!r}, not {family!r}")
    saved = blob.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: checkpoint has no config; {fix}")
    missing = sorted({f.name for f in dataclasses.fields(config_cls)} - set(saved))
    if missing:
        raise CheckpointError(f"{path}: saved config lacks key(s) {', '.join(missing)} "
                              f"(written by an older version?); {fix}")
    try:
        cfg = build(config_cls, saved, where=f"{path}: saved config")
    except ConfigError as exc:
        raise CheckpointError(f"{exc}; {fix}") from None
    state = blob.get("state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint has no state; {fix}")
    return Checkpoint(path=path, family=family, config=cfg, state=state, meta=blob.get("meta") or {})


def restore(module: Any, state: Any, where: str | os.PathLike) -> Any:
    """`module.load_state_dict(state)` with one `CheckpointError` on a missing/extra key or
    a wrong shape; returns the module."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: checkpoint state is missing or not a mapping")
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
        raise CheckpointError(f"{where}: checkpoint does not fit the model ({detail})") from None
    return module


def tensor(state: dict[str, Any], key: str, shape: tuple[int, ...] | None, where: str | os.PathLike) -> Any:
    """`state[key]`, checked to be present (and of `shape` when given): one clear error."""
    if key not in state:
        raise CheckpointError(f"{where}: checkpoint state lacks {key!r}")
    value = state[key]
    if shape is not None and tuple(getattr(value, "shape", ())) != tuple(shape):
        raise CheckpointError(f"{where}: {key!r} has shape {tuple(getattr(value, 'shape', ()))}, "
                              f"the config gives {tuple(shape)}")
    return value
