"""Prepare the UCI SMS Spam Collection: data/raw/sms-spam/ → data/processed/sms-spam/.

Reads `SMSSpamCollection` (UTF-8, one message a line, `ham|spam<TAB>text`). A line
without a tab, with an unknown label or with an empty text is counted, reported with its
line number and skipped.

File contract (what the `nb_spam` family and `reprozoo spam` read):

    texts.json   list of N message strings (the raw text, untokenized)
    label.npy    uint8 (N,)  1 = spam, 0 = ham
    test.npy     bool  (N,)  held-out test message (stratified: the same spam share in
                             both parts, drawn by a seeded RNG)
    stats.json   counts per label and split, bad lines (first 20 with line numbers)

Messages keep the order the data set defines; the split depends only on the seed and
the labels. Vectorizing is part of the model (its vocabulary is fitted on training data
and saved in the checkpoint), so this stage does not tokenize.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

from reprozoo.config import param
from reprozoo.errors import DataError
from reprozoo.io import read_json, write_json

FILE = "SMSSpamCollection"
LABELS = {"ham": 0, "spam": 1}
MAX_REPORTED = 20


@dataclasses.dataclass(frozen=True)
class Config:
    test_fraction: float = param(0.2, gt=0.0, lt=1.0, doc="held-out share, stratified")
    max_messages: int = param(0, ge=0, doc="keep a stratified seeded subset of this size (0 = all)")


def read_messages(path: Path) -> tuple[list[str], list[int], list[dict[str, Any]]]:
    if not path.exists():
        raise DataError(f"{path}: not found; run the fetch stage first (dvc repro fetch@sms-spam)")
    texts, labels, bad = [], [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            label, tab, text = line.rstrip("\r\n").partition("\t")
            reason = ("no tab between label and text" if not tab else
                      f"unknown label {label[:20]!r}" if label not in LABELS else
                      "empty text" if not text.strip() else None)
            if reason:
                bad.append({"line": lineno, "reason": reason, "text": line.strip()[:80]})
                continue
            texts.append(text)
            labels.append(LABELS[label])
    return texts, labels, bad


def stratified_test_mask(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test[rng.permutation(idx)[: int(round(fraction * len(idx)))]] = True
    return test


def prepare(cfg: Config, raw_dir: Path, out_dir: Path, seed: int) -> dict[str, Any]:
    texts, labels, bad = read_messages(raw_dir / FILE)
    for b in bad[:MAX_REPORTED]:
        print(f"{raw_dir / FILE}:{b['line']}: skipped ({b['reason']})", file=sys.stderr)
    if not texts:
        raise DataError(f"{raw_dir / FILE}: no valid messages")
    y = np.array(labels, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    if cfg.max_messages and cfg.max_messages < len(y):
        keep = np.sort(np.flatnonzero(stratified_test_mask(y, cfg.max_messages / len(y), rng)))
        texts, y = [texts[i] for i in keep], y[keep]
    test = stratified_test_mask(y, cfg.test_fraction, rng)
    write_json(out_dir / "texts.json", texts)
    np.save(out_dir / "label.npy", y)
    np.save(out_dir / "test.npy", test)
    return {"n_messages": len(y), "n_spam": int(y.sum()), "n_ham": int((y == 0).sum()),
            "n_test": int(test.sum()), "n_test_spam": int(y[test].sum()),
            "n_bad_lines": len(bad), "bad_lines": bad[:MAX_REPORTED]}


def load(data_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts, labels uint8, test mask bool) from a prepared folder."""
    data_dir = Path(data_dir)
    if not (data_dir / "texts.json").exists():
        raise DataError(f"{data_dir}: no prepared messages; run `dvc repro prepare@sms-spam`")
    return read_json(data_dir / "texts.json"), np.load(data_dir / "label.npy"), np.load(data_dir / "test.npy")
