"""Tokenizers and vocabularies for the Japanese–English data (issue 4).

- Japanese: MeCab (mecab-python3) with the unidic-lite dictionary, named explicitly with
  ``-d`` and its own ``mecabrc`` (``-r``), so a full ``unidic`` install or a system
  ``/etc/mecabrc`` can never be what loads. Output: surface forms (``-Owakati``).
- English: NFKC, lowercase, sacremoses' Moses tokenizer (``escape=False``); the matching
  Moses detokenizer turns model output back into text for sacreBLEU.
- `Vocab`: specials ``<pad> <sos> <eos> <unk>`` = ids 0..3, then tokens by frequency
  (ties alphabetical), kept when seen at least ``min_freq`` times.

Nothing here touches files at import time; tokenizers are built by the factories below.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from reprozoo.errors import DataError

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


# ---------------------------------------------------------------- Japanese
def unidic_lite_dir() -> Path:
    """The unidic-lite dictionary folder, or a DataError saying how to install it."""
    try:
        import unidic_lite
    except ImportError:
        raise DataError("MeCab needs the unidic-lite dictionary: pip install unidic-lite") from None
    d = Path(unidic_lite.DICDIR)
    if not (d / "sys.dic").exists():
        raise DataError(f"unidic-lite dictionary is incomplete: {d / 'sys.dic'} missing "
                        "(reinstall: pip install --force-reinstall unidic-lite)")
    return d


class JaTokenizer:
    """NFKC + MeCab word segmentation with unidic-lite: ``tok("海外に行きたい。")`` →
    ``["海外", "に", "行き", "たい", "。"]``."""

    def __init__(self) -> None:
        try:
            import MeCab
        except ImportError:
            raise DataError("Japanese tokenization needs mecab-python3: pip install mecab-python3") from None
        d = unidic_lite_dir()
        rc = d / "mecabrc"
        # -r: unidic-lite's own (empty) mecabrc, so no system rc redirects the dictionary.
        args = f'-Owakati -r "{rc if rc.exists() else "/dev/null"}" -d "{d}"'
        try:
            self.tagger = MeCab.Tagger(args)
        except RuntimeError as exc:
            raise DataError(f"MeCab could not load the unidic-lite dictionary at {d} ({exc}); "
                            "pip install --force-reinstall mecab-python3 unidic-lite") from None
        self.dicdir = d

    def __call__(self, text: str) -> list[str]:
        return self.tagger.parse(nfkc(text)).split()


# ---------------------------------------------------------------- English
class EnTokenizer:
    """NFKC + lowercase + Moses tokenizer; `detokenize` is its inverse for evaluation."""

    def __init__(self) -> None:
        from sacremoses import MosesDetokenizer, MosesTokenizer

        self._tok = MosesTokenizer(lang="en")
        self._detok = MosesDetokenizer(lang="en")

    def __call__(self, text: str) -> list[str]:
        return self._tok.tokenize(nfkc(text).lower(), escape=False)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return self._detok.detokenize(list(tokens))


# ---------------------------------------------------------------- vocabulary
class Vocab:
    """Token ↔ id map; ids 0..3 are the specials."""

    def __init__(self, itos: Sequence[str], min_freq: int = 1):
        if tuple(itos[:4]) != SPECIALS:
            raise DataError(f"vocabulary must start with {' '.join(SPECIALS)}, got {list(itos[:4])}")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.min_freq = min_freq

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int) -> Vocab:
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS),
                      key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *kept], min_freq)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens up to the first <eos>, without <pad>/<sos>."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, SOS_ID):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"itos": self.itos, "min_freq": self.min_freq}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Vocab:
        return cls(obj["itos"], int(obj.get("min_freq", 1)))
