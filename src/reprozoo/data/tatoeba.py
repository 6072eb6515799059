"""Tokenize the Tatoeba jpn-eng pairs: data/raw/tatoeba/jpn-eng.txt → data/processed/tatoeba/.

Input lines are ``english<TAB>japanese`` or ``english<TAB>japanese<TAB>attribution``
(newer manythings.org exports); the attribution is kept. Both sides are NFKC-normalized;
Japanese is segmented by MeCab with unidic-lite, English is lowercased and tokenized by
sacremoses (see `reprozoo.data.text`, which also holds the matching detokenizer).

Bad lines are counted, skipped and reported in stats.json (``bad_lines`` by reason with
the first line numbers, 1-based): no tab, an empty side, more than three columns, broken
UTF-8 (the file is read as bytes and decoded line by line), nothing left after
tokenization.

Split: a pair goes to test / valid / train by the SHA-256 of its normalized Japanese
sentence, so it does not depend on file order or the seed, and the same Japanese
sentence (which Tatoeba often pairs with several English ones) never lands in two
splits. Within a split, pairs are ordered by that hash (then text), so a shuffled input
file gives byte-identical outputs. ``limit`` keeps a hash-chosen subset (smoke profile).

File contract (what seq2seq, charrnn and word2vec read; nothing downstream re-tokenizes):

    vocab_ja.json, vocab_en.json   {"itos": [...], "min_freq": n}; itos[0:4] =
                                   <pad> <sos> <eos> <unk>; built on train only
    {train,valid,test}.npz         ja_ids int32 (total_ja_tokens,)  all sentences concatenated
                                   ja_offsets int64 (N+1,)          sentence i = ids[off[i]:off[i+1]]
                                   en_ids int32, en_offsets int64   likewise; no <sos>/<eos> added
    {train,valid,test}.tsv         ja_tokens<TAB>en_tokens<TAB>ja_raw<TAB>en_raw, one pair a
                                   line, same order as the npz; tokens space-joined; raw =
                                   NFKC-normalized original sentence (English not lowercased)
    {train,valid,test}.attr.txt    the attribution column of each pair ("" if none), same order
    stats.json                     counts, vocab sizes, bad_lines

Tokens/s is printed by the stage, never written to outputs (they must hash identically).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from reprozoo import progress
from reprozoo.config import param
from reprozoo.errors import DataError
from reprozoo.io import save_npz, write_json, write_text
from reprozoo.data.text import EnTokenizer, JaTokenizer, Vocab, nfkc

SPLITS = ("train", "valid", "test")
RAW_FILE = "jpn-eng.txt"
MAX_LINE_NUMBERS = 20  # line numbers listed per bad-line reason


@dataclasses.dataclass(frozen=True)
class Config:
    valid_fraction: float = param(0.05, gt=0.0, lt=0.5, doc="share of Japanese sentences held out for validation")
    test_fraction: float = param(0.05, gt=0.0, lt=0.5, doc="share held out for the test split")
    min_freq_ja: int = param(2, ge=1, doc="keep a Japanese token seen at least this often in train")
    min_freq_en: int = param(2, ge=1, doc="keep an English token seen at least this often in train")
    limit: int = param(0, ge=0, doc="keep at most this many pairs, chosen by hash (0 = all)")


@dataclasses.dataclass(frozen=True)
class Pair:
    en: str
    ja: str
    attribution: str
    line: int


def _unit_hash(text: str, salt: str) -> float:
    """A number in [0, 1) from the SHA-256 of `text` (salted)."""
    return int(hashlib.sha256(f"{salt}\x00{text}".encode()).hexdigest()[:13], 16) / 16 ** 13


def split_of(ja_norm: str, valid_fraction: float, test_fraction: float) -> str:
    u = _unit_hash(ja_norm, "tatoeba-split")
    if u < test_fraction:
        return "test"
    return "valid" if u < test_fraction + valid_fraction else "train"


def read_pairs(data: bytes) -> tuple[list[Pair], dict[str, dict]]:
    """Parse the raw bytes; returns the good pairs (NFKC-normalized) and bad lines by reason."""
    pairs: list[Pair] = []
    bad: dict[str, dict] = {}

    def reject(reason: str, lineno: int) -> None:
        b = bad.setdefault(reason, {"count": 0, "lines": []})
        b["count"] += 1
        if len(b["lines"]) < MAX_LINE_NUMBERS:
            b["lines"].append(lineno)

    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue  # blank lines (e.g. after the final newline) are not pairs
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            reject("broken_utf8", lineno)
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            reject("no_tab", lineno)
            continue
        if len(cols) > 3:
            reject("too_many_columns", lineno)
            continue
        en, ja = nfkc(cols[0]), nfkc(cols[1])
        if not en or not ja:
            reject("empty_side", lineno)
            continue
        pairs.append(Pair(en, ja, cols[2].strip() if len(cols) == 3 else "", lineno))
    return pairs, bad


def _pack(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in seqs])
    ids = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
    return ids, offsets


def unpack(ids: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """The inverse of the npz packing: one id array per sentence."""
    return [ids[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def load_split(data_dir: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(ja sentences, en sentences) as lists of int32 id arrays."""
    path = Path(data_dir) / f"{split}.npz"
    if not path.exists():
        raise DataError(f"{path}: missing; run the prepare stage first (dvc repro prepare@tatoeba)")
    z = np.load(path)
    return unpack(z["ja_ids"], z["ja_offsets"]), unpack(z["en_ids"], z["en_offsets"])


def prepare(cfg: Config, raw_dir: Path, out_dir: Path, seed: int) -> dict:
    del seed  # the split is a content hash; nothing here is random
    src = Path(raw_dir) / RAW_FILE
    if not src.exists():
        raise DataError(f"{src}: missing; run the fetch stage first (dvc repro fetch@tatoeba)")
    pairs, bad = read_pairs(src.read_bytes())
    if not pairs:
        raise DataError(f"{src}: no usable `english<TAB>japanese` lines")
    n_read = len(pairs)
    if cfg.limit and len(pairs) > cfg.limit:
        pairs = sorted(pairs, key=lambda p: (_unit_hash(p.ja, "tatoeba-subset"), p.ja, p.en, p.attribution))
        pairs = pairs[:cfg.limit]

    ja_tok, en_tok = JaTokenizer(), EnTokenizer()
    rows: dict[str, list] = {s: [] for s in SPLITS}
    n_tokens, t0 = 0, time.perf_counter()
    bar = progress.bar(len(pairs), desc="tokenize tatoeba", unit="pair")
    for p in pairs:
        ja, en = ja_tok(p.ja), en_tok(p.en)
        bar.update(1)
        if not ja or not en:
            b = bad.setdefault("empty_after_tokenize", {"count": 0, "lines": []})
            b["count"] += 1
            if len(b["lines"]) < MAX_LINE_NUMBERS:
                b["lines"].append(p.line)
            continue
        n_tokens += len(ja) + len(en)
        key = (_unit_hash(p.ja, "tatoeba-split"), p.ja, p.en, p.attribution)
        rows[split_of(p.ja, cfg.valid_fraction, cfg.test_fraction)].append((key, ja, en, p))
    bar.close()
    dt = time.perf_counter() - t0
    print(f"tokenize tatoeba: {n_tokens} tokens in {dt:.1f}s = {n_tokens / max(dt, 1e-9):,.0f} tokens/s",
          file=sys.stderr)

    for s in SPLITS:
        rows[s].sort(key=lambda r: r[0])
    vja = Vocab.build((r[1] for r in rows["train"]), cfg.min_freq_ja)
    ven = Vocab.build((r[2] for r in rows["train"]), cfg.min_freq_en)
    out_dir = Path(out_dir)
    write_json(out_dir / "vocab_ja.json", vja.to_json())
    write_json(out_dir / "vocab_en.json", ven.to_json())
    stats: dict = {"pairs_read": n_read, "pairs_kept": sum(len(r) for r in rows.values()),
                   "vocab_ja": len(vja), "vocab_en": len(ven), "tokens": n_tokens,
                   "bad_lines": bad, "splits": {}}
    for s in SPLITS:
        r = rows[s]
        ja_ids, ja_off = _pack([vja.encode(x[1]) for x in r])
        en_ids, en_off = _pack([ven.encode(x[2]) for x in r])
        save_npz(out_dir / f"{s}.npz", ja_ids=ja_ids, ja_offsets=ja_off, en_ids=en_ids, en_offsets=en_off)
        write_text(out_dir / f"{s}.tsv", "".join(
            f"{' '.join(x[1])}\t{' '.join(x[2])}\t{x[3].ja}\t{x[3].en}\n" for x in r))
        write_text(out_dir / f"{s}.attr.txt", "".join(f"{x[3].attribution}\n" for x in r))
        stats["splits"][s] = {"pairs": len(r), "ja_sentences": len({x[3].ja for x in r}),
                              "ja_unk": int((ja_ids == 3).sum()), "en_unk": int((en_ids == 3).sum()),
                              "ja_tokens": int(ja_ids.size), "en_tokens": int(en_ids.size)}
    n_bad = sum(b["count"] for b in bad.values())
    if n_bad:
        print(f"tokenize tatoeba: skipped {n_bad} bad line(s): "
              + ", ".join(f"{k}={v['count']} (lines {v['lines'][:5]})" for k, v in sorted(bad.items())),
              file=sys.stderr)
    return stats
