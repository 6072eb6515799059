"""File helpers: hashing and atomic writes (a crash never leaves a half-written file)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

CHUNK = 1 << 20  # 1 MiB reads


def file_digest(path: str | os.PathLike, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    return file_digest(path, "sha256")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success rename it over `path`, else delete it.

    The rename is atomic on POSIX, so readers (and `dvc repro` after a kill) see either
    the old file or the complete new one, never a partial write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any, ascii_only: bool = False) -> None:
    """Deterministic JSON (sorted keys, fixed indent) so identical runs hash identically.

    `ascii_only` escapes non-ASCII text (DVC refuses metrics files with UTF-8 beyond ASCII)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=ascii_only)
    write_text(path, text + "\n")


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """`np.savez`, with bytes that depend only on the arrays (and atomically).

    NumPy streams each member through zipfile with force_zip64, and Python 3.11.4 changed
    what that writes in the local headers (CPython gh-103861): the same arrays made different
    files under Python 3.11.2 and 3.11.7, so a DVC hash depended on the interpreter's patch
    release. Here each member is written whole (its size known, so no ZIP64 below 4 GiB),
    stored uncompressed and dated 1980-01-01, as np.savez names and flags it."""
    import io
    import zipfile

    import numpy as np

    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o600 << 16  # rw------- as np.savez leaves it
                archive.writestr(info, buf.getvalue())


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
