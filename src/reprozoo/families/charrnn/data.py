"""The English sentences of the prepare stage's Tatoeba TSVs (data/processed/tatoeba,
`dvc repro prepare@tatoeba`) as character-id streams."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from reprozoo.errors import DataError

from .config import Config


def read_sentences(path: Path, lowercase: bool) -> list[str]:
    """The `en_raw` column (4th) of a prepare-stage TSV, de-duplicated in file order."""
    if not path.exists():
        raise DataError(f"{path}: missing; run the prepare stage first (dvc repro prepare@tatoeba)")
    seen: dict[str, None] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if len(row) != 4:
                raise DataError(f"{path}:{n}: expected 4 tab-separated columns, got {len(row)}")
            s = row[3].strip().replace("\n", " ")
            if s:
                seen[s.lower() if lowercase else s] = None
    return list(seen)


def load_splits(cfg: Config, data_dir: Path) -> dict[str, list[str]]:
    train = read_sentences(data_dir / "train.tsv", cfg.lowercase)
    if cfg.train_limit:
        train = train[: cfg.train_limit]
    known = set(train)
    out = {"train": train}
    for split in ("valid", "test"):
        sents = [s for s in read_sentences(data_dir / f"{split}.tsv", cfg.lowercase) if s not in known]
        out[split] = sents[: cfg.eval_limit] if cfg.eval_limit else sents
    return out


def encode(sentences: list[str], stoi: dict[str, int]) -> torch.Tensor:
    text = "".join(s + "\n" for s in sentences)
    return torch.tensor([stoi.get(ch, 0) for ch in text], dtype=torch.long)
