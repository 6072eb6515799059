"""The prepare stage's Tatoeba output, as this family reads it: id arrays and vocabularies
(data/processed/tatoeba, written by `dvc repro prepare@tatoeba`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reprozoo.data.text import Vocab
from reprozoo.io import read_json


def load_split(data_dir: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(Japanese id arrays, English id arrays) of `split` (train, valid or test)."""
    from reprozoo.data.tatoeba import load_split as _load_split

    return _load_split(data_dir, split)


def load_vocabs(data_dir: Path) -> tuple[Vocab, Vocab]:
    """(Japanese, English) vocabularies: vocab_ja.json, vocab_en.json."""
    return (Vocab.from_json(read_json(Path(data_dir) / "vocab_ja.json")),
            Vocab.from_json(read_json(Path(data_dir) / "vocab_en.json")))
