"""The prepare stage's Tatoeba id arrays as word2vec's corpus (data/processed/tatoeba,
`dvc repro prepare@tatoeba`), its vocabulary, and the pair list (data/static)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from reprozoo.errors import DataError
from reprozoo.io import read_json

SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")


def load_corpus(data_dir: Path, lang: str, split: str, limit: int = 0
                ) -> tuple[list[str], list[np.ndarray]]:
    """(itos, sentences as int arrays of the prepare stage's vocabulary ids)."""
    vpath, apath = data_dir / f"vocab_{lang}.json", data_dir / f"{split}.npz"
    for p in (vpath, apath):
        if not p.exists():
            raise DataError(f"{p}: missing; run the prepare stage first (dvc repro prepare@tatoeba)")
    itos = read_json(vpath)["itos"]
    z = np.load(apath)
    ids, off = z[f"{lang}_ids"].astype(np.int64), z[f"{lang}_offsets"]
    if len(ids) and ids.max() >= len(itos):
        raise DataError(f"{apath}: token id {ids.max()} outside vocab_{lang}.json ({len(itos)} "
                        "words): the arrays and the vocabulary come from different runs")
    n = len(off) - 1 if not limit else min(limit, len(off) - 1)
    return itos, [ids[off[i]:off[i + 1]] for i in range(n)]


class Vocab:
    """Words of the training split with count ≥ min_count (specials dropped), by count."""

    def __init__(self, itos: list[str], sents: list[np.ndarray], min_count: int):
        counts = np.bincount(np.concatenate(sents), minlength=len(itos)) if sents else np.zeros(len(itos))
        for s in SPECIALS:
            if s in itos:
                counts[itos.index(s)] = 0
        keep = [i for i in np.argsort(-counts, kind="stable") if counts[i] >= min_count]
        if len(keep) < 2:
            raise DataError(f"fewer than 2 words occur ≥ min_count={min_count} times")
        self.words = [itos[i] for i in keep]
        self.counts = counts[keep].astype(np.float64)
        self.remap = np.full(len(itos), -1, np.int64)
        self.remap[keep] = np.arange(len(keep))
        self.index = {w: i for i, w in enumerate(self.words)}

    def encode(self, sents: list[np.ndarray]) -> list[np.ndarray]:
        out = [self.remap[s] for s in sents]
        return [s[s >= 0] for s in out]


def read_pairs(path: Path) -> list[tuple[str, str, str]]:
    if not path.exists():
        raise DataError(f"{path}: pair list missing (word<TAB>related<TAB>unrelated)")
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{n}: expected 3 tab-separated words, got {len(row)}")
            rows.append((row[0], row[1], row[2]))
    return rows
