"""A trained seq2seq model in use: `Translator` (model + both vocabularies + tokenizers,
decoding and detokenizing) and `translate_lines`, the helper of `reprozoo translate`.
A Translator comes from a checkpoint through `evaluate.load_model`."""

from __future__ import annotations

from typing import Any

from reprozoo.data.text import UNK_ID, EnTokenizer, JaTokenizer, Vocab
from reprozoo.errors import ReprozooError

from .config import Config
from .model import Seq2Seq, pad_batch


class Translator:
    """A model with its vocabularies; `cfg` gives `decode_max_len` (the checkpoint's config
    when loaded from a file). Tokenizers are built on first use."""

    def __init__(self, model: Seq2Seq, cfg: Config, src_vocab: Vocab, tgt_vocab: Vocab, device: Any = "cpu"):
        self.model, self.cfg = model, cfg
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.device = device
        self._ja: JaTokenizer | None = None
        self._en: EnTokenizer | None = None

    @property
    def en(self) -> EnTokenizer:
        self._en = self._en or EnTokenizer()
        return self._en

    def tokenize(self, text: str) -> list[str]:
        self._ja = self._ja or JaTokenizer()
        return self._ja(text)

    def decode_ids(self, src_ids: list[list[int]], beam: int = 1, batch_size: int = 128
                   ) -> tuple[list[list[int]], list]:
        """Translate id sequences (greedy batched when beam == 1, else per-sentence beam)."""
        outs: list = [None] * len(src_ids)
        atts: list = [None] * len(src_ids)
        if beam == 1:
            order = sorted(range(len(src_ids)), key=lambda i: len(src_ids[i]))
            for k in range(0, len(order), batch_size):
                idx = order[k:k + batch_size]
                ids, att = self.model.greedy(pad_batch([src_ids[i] for i in idx]).to(self.device),
                                             self.cfg.decode_max_len)
                for j, i in enumerate(idx):
                    outs[i], atts[i] = ids[j], att[j]
        else:
            for i, s in enumerate(src_ids):
                outs[i], atts[i] = self.model.beam_search(pad_batch([s]).to(self.device), beam,
                                                          self.cfg.decode_max_len)
        return outs, atts

    def detok(self, ids: list[int]) -> str:
        return self.en.detokenize(self.tgt_vocab.decode(ids))


def translate_lines(tr: Translator, lines: list[str], beam: int = 1) -> list[str]:
    """For the CLI: translate raw Japanese lines; raises ReprozooError on empty/unknown-only input."""
    out = []
    for text in lines:
        toks = tr.tokenize(text)
        if not toks:
            raise ReprozooError("empty input: give a Japanese sentence, e.g. reprozoo translate \"とても悲しいです。\"")
        ids = tr.src_vocab.encode(toks)
        if all(i == UNK_ID for i in ids):
            raise ReprozooError(f"none of the words of {text!r} ({' '.join(toks)}) are in the model's "
                                "vocabulary; nothing to translate")
        hyp, _ = tr.decode_ids([ids], beam=beam)
        out.append(tr.detok(hyp[0]))
    return out
