"""Tokenize stage (issue 4 §1): tokenizers, bad lines, split determinism, vocab specials."""

from __future__ import annotations

import random

import numpy as np
import pytest

from reprozoo.data import tatoeba
from reprozoo.errors import DataError
from reprozoo.data.text import SPECIALS, EnTokenizer, JaTokenizer, Vocab


@pytest.fixture(scope="module")
def ja():
    return JaTokenizer()


def test_mecab_unidic_lite(ja):
    import unidic_lite

    assert str(ja.dicdir) == unidic_lite.DICDIR  # the lite dictionary, not full unidic
    assert ja("海外に旅行に行きたい。") == ["海外", "に", "旅行", "に", "行き", "たい", "。"]
    assert ja("とても悲しいです。") == ["とても", "悲しい", "です", "。"]
    # NFKC: full-width letters/digits and half-width katakana are folded first
    assert ja("ＡＢＣ１２３") == ja("ABC123")
    assert ja("ｶﾀｶﾅ") == ja("カタカナ")


def test_mecab_missing_dictionary(monkeypatch, tmp_path):
    import unidic_lite

    monkeypatch.setattr(unidic_lite, "DICDIR", str(tmp_path))
    with pytest.raises(DataError, match="unidic-lite"):
        JaTokenizer()


def test_english_tokenize_detokenize():
    en = EnTokenizer()
    toks = en("I don't know, Tom.")
    assert toks == ["i", "don", "'t", "know", ",", "tom", "."]
    assert en.detokenize(toks) == "i don't know, tom."
    assert en.detokenize(en("Is this a pen? Yes!")) == "is this a pen? yes!"


def test_bad_lines_counted_with_line_numbers():
    data = ("Go.\t行け。\n"                     # 1 ok
            "no tab here\n"                     # 2 no_tab
            "\t空です。\n"                      # 3 empty english
            "Hello.\t \n"                       # 4 empty japanese
            "Hi.\tやあ。\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (x) & #2 (y)\n"  # 5 ok, 3 cols
            ).encode() + b"Bad \xff byte.\t\xe3\x81\n" + "a\tb\tc\td\n".encode() + b"\n"
    pairs, bad = tatoeba.read_pairs(data)
    assert [p.line for p in pairs] == [1, 5]
    assert pairs[1].attribution.startswith("CC-BY 2.0")
    assert bad == {"no_tab": {"count": 1, "lines": [2]}, "empty_side": {"count": 2, "lines": [3, 4]},
                   "broken_utf8": {"count": 1, "lines": [6]}, "too_many_columns": {"count": 1, "lines": [7]}}


def _write_raw(tmp_path, lines, name):
    raw = tmp_path / name
    raw.mkdir()
    (raw / tatoeba.RAW_FILE).write_bytes(b"".join(lines))
    return raw


LINES = [f"{en}\t{ja}\n".encode() for en, ja in [
    ("I'm sad.", "悲しいです。"), ("I am very sad.", "とても悲しいです。"), ("This is food.", "これは料理です。"),
    ("This is a dish.", "これは料理です。"), ("He is a nice person.", "彼はとてもいい人です。"),
    ("He's very kind.", "彼はとてもいい人です。"), ("Is this movie fun?", "この映画は面白いですか？"),
    ("I want to travel abroad.", "海外に旅行に行きたい。"), ("Go.", "行け。"), ("Run!", "走れ！"),
    ("Who?", "誰？"), ("Wow!", "すごい！"), ("I see.", "なるほど。"), ("Thanks.", "ありがとう。"),
    ("Help!", "助けて！"), ("Cheers!", "乾杯！"), ("It's me.", "私です。"), ("Wait.", "待って。"),
]] + [b"broken\n", b"bad \xfe\tutf8\n"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tatoeba")
    cfg = tatoeba.Config(valid_fraction=0.25, test_fraction=0.25, min_freq_ja=1, min_freq_en=2)
    outs = []
    for k, lines in enumerate([LINES, random.Random(3).sample(LINES, len(LINES))]):
        raw = _write_raw(tmp, lines, f"raw{k}")
        out = tmp / f"out{k}"
        out.mkdir()
        stats = tatoeba.prepare(cfg, raw, out, seed=k)  # a different seed must not matter either
        outs.append((out, stats))
    return outs


def test_split_independent_of_file_order(prepared):
    (a, sa), (b, sb) = prepared
    # only the reported line numbers of bad lines may differ
    assert {**sa, "bad_lines": None} == {**sb, "bad_lines": None}
    for f in sorted(p.name for p in a.iterdir()):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert sa["bad_lines"]["no_tab"]["count"] == 1 and sa["bad_lines"]["broken_utf8"]["count"] == 1


def test_no_japanese_sentence_in_two_splits(prepared):
    out, stats = prepared[0]
    seen = {}
    for split in tatoeba.SPLITS:
        for line in (out / f"{split}.tsv").read_text("utf-8").splitlines():
            ja_raw = line.split("\t")[2]
            assert seen.setdefault(ja_raw, split) == split
    assert len(seen) == 16 and sum(s["pairs"] for s in stats["splits"].values()) == 18
    assert all(stats["splits"][s]["pairs"] > 0 for s in tatoeba.SPLITS)


def test_file_contract_and_vocab(prepared):
    from reprozoo.io import read_json

    out, _ = prepared[0]
    vja = Vocab.from_json(read_json(out / "vocab_ja.json"))
    ven = Vocab.from_json(read_json(out / "vocab_en.json"))
    assert tuple(vja.itos[:4]) == SPECIALS == ("<pad>", "<sos>", "<eos>", "<unk>")
    assert ven.min_freq == 2 and "." in ven.itos and "wow" not in ven.itos  # seen once
    for split in tatoeba.SPLITS:
        z = np.load(out / f"{split}.npz")
        assert z["ja_ids"].dtype == np.int32 and z["ja_offsets"].dtype == np.int64
        rows = (out / f"{split}.tsv").read_text("utf-8").splitlines()
        assert len(z["en_offsets"]) == len(rows) + 1 == len(z["ja_offsets"])
        for i, row in enumerate(rows):
            ja_tok, en_tok, _, _ = row.split("\t")
            assert vja.encode(ja_tok.split()) == z["ja_ids"][z["ja_offsets"][i]:z["ja_offsets"][i + 1]].tolist()
            assert ven.encode(en_tok.split()) == z["en_ids"][z["en_offsets"][i]:z["en_offsets"][i + 1]].tolist()
        assert len((out / f"{split}.attr.txt").read_text("utf-8").splitlines()) == len(rows)


def test_vocab_encode_decode():
    v = Vocab.build([["a", "b", "a"], ["c", "a", "b"]], min_freq=2)
    assert v.itos == ["<pad>", "<sos>", "<eos>", "<unk>", "a", "b"]
    assert v.encode(["a", "zzz", "b"]) == [4, 3, 5]
    assert v.decode([1, 4, 5, 2, 4]) == ["a", "b"]
    with pytest.raises(DataError):
        Vocab(["a", "b"])


def test_missing_raw_file(tmp_path):
    with pytest.raises(DataError, match="fetch"):
        tatoeba.prepare(tatoeba.Config(), tmp_path, tmp_path, 0)


def test_npz_bytes_do_not_depend_on_the_python_release(tmp_path):
    """np.savez's ZIP64 streaming wrote other local headers after Python 3.11.4, so the
    prepared Tatoeba arrays hashed differently under 3.11.2 and 3.11.7. save_npz writes
    each member whole: every local header states the member's real size (no 0xFFFFFFFF
    placeholder, no ZIP64 extra) and NumPy reads the arrays back unchanged."""
    import struct
    import zipfile

    from reprozoo.io import save_npz

    arrays = {"ids": np.arange(1000, dtype=np.int32), "offsets": np.array([0, 3, 1000], dtype=np.int64)}
    path = tmp_path / "x.npz"
    save_npz(path, **arrays)
    blob = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            head = blob[info.header_offset:info.header_offset + 30]
            sig, _, _, _, _, _, _, csize, usize, _, extra = struct.unpack("<IHHHHHIIIHH", head)
            assert sig == 0x04034B50 and csize == usize == info.file_size and extra == 0
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
    loaded = np.load(path)
    assert sorted(loaded.files) == ["ids", "offsets"]
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype and np.array_equal(loaded[k], v)
    save_npz(tmp_path / "y.npz", **arrays)
    assert (tmp_path / "y.npz").read_bytes() == blob
