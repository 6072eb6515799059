"""Checkpoints: state_dict + config + family name, saved atomically, loaded weights-only.

A checkpoint is a plain dict ``{"family", "config", "state", "meta"}`` of tensors and
plain Python values, so ``torch.load(..., weights_only=True)`` can read it safely and a
model can be rebuilt from its config alone (no pickled classes).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from reprozoo.errors import CheckpointError
from reprozoo.io import atomic_path

FORMAT = 1


def save(path: str | os.PathLike, *, family: str, config: dict[str, Any],
         state: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    import torch

    blob = {"format": FORMAT, "family": family, "config": config, "state": state,
            "meta": meta or {}}
    # Serialize to memory first: torch.save names the archive's root folder after the file,
    # so saving straight to a random temp name would make identical models hash apart.
    buf = io.BytesIO()
    torch.save(blob, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


def load(path: str | os.PathLike, *, family: str, map_location: Any = "cpu") -> dict[str, Any]:
    """Load and check that the checkpoint belongs to `family`."""
    import pickle

    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint; run the train stage first (dvc repro train@{family})")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable reprozoo checkpoint ({str(exc).splitlines()[0]})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a reprozoo checkpoint (format {FORMAT} expected)")
    if blob["family"] != family:
        raise CheckpointError(f"{path}: checkpoint is for family '{blob['family']}', not '{family}'")
    return blob


def load_state(module: Any, state: dict[str, Any], where: str) -> None:
    """`module.load_state_dict` with a one-line error on shape or key mismatch."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
        raise CheckpointError(f"{where}: checkpoint does not fit the model ({detail})") from None
