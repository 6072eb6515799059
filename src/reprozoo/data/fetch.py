"""Fetch a registered data set into data/raw/<dest>/, verifying every file.

Nothing unverified is ever left in the destination: files are gathered in a hidden
staging folder beside it, each is hashed, and only a complete, verified set replaces
the destination (one rename). A mismatch names the file, the expected and actual hash
and the source, and removes the staging folder.

A file registered with a `payload_sha256` (the full MNIST) is verified by the SHA-256 of
its decompressed bytes, so the mirror's recompressed `.gz` and the canonical one both
pass; the `.gz` is stored as the source served it (the prepare stage reads the payload).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from reprozoo.data.registry import Dataset, FileSpec
from reprozoo.errors import DataError
from reprozoo.io import CHUNK, file_digest, write_json

MIRROR_ENV = "REPROZOO_DATA_MIRROR"
MnistVariant = Literal["mnist", "mnist-5k", "fashion-mnist"]


@dataclasses.dataclass(frozen=True)
class FetchConfig:
    """The `fetch` section of params.yaml."""

    mnist_variant: MnistVariant = "mnist-5k"   # which registered data set fills data/raw/mnist

    def source(self, dataset: str) -> str:
        """The registered data set fetched for the graph's data set `dataset`."""
        return self.mnist_variant if dataset == "mnist" else dataset

RETRY_WAIT_S = 2.0  # first back-off between download attempts (doubles, at most 8 s)


def payload_digest(path: Path) -> tuple[str, int, str | None]:
    """SHA-256 of a gzip file's decompressed bytes: (hex digest, bytes decompressed, problem).

    `problem` is None for a complete, CRC-checked stream; else why decompression stopped
    (truncated, corrupt), and the digest is that of the bytes decompressed before it."""
    h, n = hashlib.sha256(), 0
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                n += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        return h.hexdigest(), n, f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return h.hexdigest(), n, None


def verify(path: Path, spec: FileSpec, source: str) -> None:
    kind, expected = spec.check
    size = path.stat().st_size
    if kind == "payload_sha256":
        actual, n, problem = payload_digest(path)
        what = "sha256 of the decompressed payload"
        detail = f"size {size} bytes, {n} decompressed" + (
            f"; not a complete gzip stream: {problem}" if problem else "")
        if actual == expected and problem is None:
            return
    else:
        what, actual, detail = kind, file_digest(path, kind), f"size {size} bytes"
        if actual == expected:
            return
    raise DataError(f"{spec.name}: {what} mismatch from {source}: expected {expected}, "
                    f"got {actual} ({detail}); the file is corrupted, truncated or a different "
                    "release and was not used")


def _local_path(ref: str) -> Path | None:
    if ref.startswith("pkg:"):
        module, _, rel = ref[4:].partition("/")
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0]) / rel
    return Path(ref)


def download(url: str, dest: Path, *, retries: int = 3, timeout: float = 30.0) -> None:
    """HTTP(S) download with retries, a timeout and a progress bar; atomic into `dest`."""
    from reprozoo.progress import bar

    last: Exception | None = None
    for attempt in range(1, retries + 1):
        tmp = dest.with_name(dest.name + ".part")
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "reprozoo/0.1"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                pb = bar(total, desc=f"download {url.rsplit('/', 1)[-1]}", unit="B")
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    pb.update(len(chunk))
                pb.close()
                if total is not None and out.tell() != total:
                    raise OSError(f"truncated: got {out.tell()} of {total} bytes")
            os.replace(tmp, dest)
            return
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            last = exc
            tmp.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(min(RETRY_WAIT_S * 2 ** (attempt - 1), 8))
    raise OSError(f"{url}: {getattr(last, 'reason', last)}")


class _Downloads:
    """Downloads shared across the files of one fetch (an archive holds several)."""

    def __init__(self, workdir: Path):
        self.workdir, self.cache = workdir, {}

    def get(self, url: str) -> Path:
        if url not in self.cache:
            path = self.workdir / f"dl{len(self.cache)}_{url.rsplit('/', 1)[-1]}"
            download(url, path)
            self.cache[url] = path
        return self.cache[url]


def _from_canonical(spec: FileSpec, out: Path, dl: _Downloads) -> str:
    errors = []
    for url in spec.urls:
        try:
            got = dl.get(url)
            if spec.member:
                with zipfile.ZipFile(got) as zf, zf.open(spec.member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                shutil.copyfile(got, out)
            return url + (f" (member {spec.member})" if spec.member else "")
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            errors.append(str(exc))
    raise OSError("; ".join(errors) or "no canonical URL")


def fetch_file(spec: FileSpec, out: Path, *, mirror: Path | None, offline: bool,
               dl: _Downloads) -> str:
    """Put a verified copy of `spec` at `out`; return a description of its source."""
    tried = []
    candidates: list[tuple[str, Path]] = []
    if mirror is not None and spec.mirror:
        candidates.append((f"mirror {mirror / spec.mirror}", mirror / spec.mirror))
    for ref in spec.local:
        p = _local_path(ref)
        if p is not None:
            candidates.append((f"local {p}", p))
    for label, path in candidates:
        if path.is_file():
            shutil.copyfile(path, out)
            verify(out, spec, label)  # a bad mirror file is refused, never skipped
            return label
        tried.append(f"{label}: not found")
    if offline:
        tried.append("canonical download skipped (--offline)")
    elif spec.urls:
        try:
            source = _from_canonical(spec, out, dl)
            verify(out, spec, source)
            return source
        except OSError as exc:
            tried.append(f"download failed ({exc})")
    hint = (f"set {MIRROR_ENV} to a mirror directory that holds it (e.g. ../shared/data), "
            "or go online and retry without --offline")
    raise DataError(f"{spec.name}: no source could provide it — {'; '.join(tried)}. Fix: {hint}")


def fetch(dataset: Dataset, dest: Path, *, mirror: str | Path | None = None,
          offline: bool = False) -> dict[str, str]:
    """Fetch and verify all files of `dataset` into `dest` (replacing it). Returns sources."""
    mirror_dir = Path(mirror).expanduser() if mirror else None
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise DataError(f"{MIRROR_ENV}={mirror}: not a directory; point it at the data mirror "
                        "(e.g. ../shared/data) or unset it to download")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    sources: dict[str, str] = {}
    try:
        work = staging / ".downloads"
        work.mkdir()
        dl = _Downloads(work)
        for spec in dataset.files:
            out = staging / spec.name
            out.parent.mkdir(parents=True, exist_ok=True)
            sources[spec.name] = fetch_file(spec, out, mirror=mirror_dir, offline=offline, dl=dl)
            print(f"  {spec.name}: ok ({sources[spec.name]})", file=sys.stderr)
        shutil.rmtree(work)
        # The manifest records what was verified, not where it came from, so the output is
        # identical whichever source served it.
        write_json(staging / "MANIFEST.json", {
            "dataset": dataset.name, "description": dataset.description,
            "license": dataset.license,
            "files": {s.name: dict([s.check]) for s in dataset.files},
        })
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sources
