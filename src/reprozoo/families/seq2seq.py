"""Japanese→English GRU seq2seq on Tatoeba (issue 4, seed article 004).

Families (one module, told apart by their params section):

- ``seq2seq``: bi-GRU encoder over packed batches, GRU decoder with attention over the
  encoder states (default ``attention: additive``, Bahdanau's score v·tanh(W_q s + W_k h);
  Luong's ``general`` and ``dot`` also available),
  Adam, gradient clipping, teacher-forcing ratio, label smoothing, greedy and
  beam-search decoding.
- ``seq2seq_seed``: the article's model (the PyTorch "Translation with a
  sequence-to-sequence network" tutorial it follows): GRU encoder, GRU decoder with ReLU
  on embeddings, LogSoftmax output (= cross-entropy on logits), SGD, teacher forcing 0.5,
  no attention; trained batched instead of one pair per step.

Evaluation: sacreBLEU (13a tokenization, case-insensitive: the model writes lowercase)
and chrF of the Moses-detokenized output against the NFKC-normalized test references;
samples.md with the article's sentences; attention heat maps (attention.png).

Results (default profile, 2 shared CPU cores; `python pipelines/train.py seq2seq` then
`python pipelines/evaluate.py seq2seq`, conf/params-C1.yaml merged, 3 epochs, 30,975 pairs):
test BLEU 9.26 (beam 4; greedy 8.45), sacreBLEU nrefs:1|case:lc|tok:13a|smooth:exp|version:2.6.0;
valid BLEU 2.2 → 6.4 → 10.5 over the epochs. Epoch 3 took 129 s on an idle 2-core CPU.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from reprozoo import checkpoint, plots
from reprozoo.config import param, to_dict
from reprozoo.errors import CheckpointError, ReprozooError
from reprozoo.io import read_json, write_text
from reprozoo.metrics import check_finite
from reprozoo.seq2seq_model import ModelConfig, Seq2Seq, pad_batch
from reprozoo.data.text import UNK_ID, EnTokenizer, JaTokenizer, Vocab


SAMPLES = ("海外に旅行に行きたい。", "この映画は面白いですか？", "これは料理です。",
           "この机は私の一番のお気に入りです。", "彼はとてもいい人です。", "とても悲しいです。")

@dataclasses.dataclass(frozen=True)
class Config:
    embed: int = param(128, ge=1, doc="embedding size")
    hidden: int = param(256, ge=1, doc="GRU hidden size")
    bidirectional: bool = True
    attention: Literal["none", "dot", "general", "additive"] = "additive"
    relu_embedding: bool = False
    dropout: float = param(0.1, ge=0.0, lt=1.0)
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = param(0.002, gt=0.0)
    grad_clip: float = param(1.0, ge=0.0, doc="max global grad norm (0 = off)")
    epochs: int = param(8, ge=1)
    batch_size: int = param(64, ge=1)
    teacher_forcing: float = param(1.0, ge=0.0, le=1.0, doc="probability of feeding the gold token")
    label_smoothing: float = param(0.0, ge=0.0, lt=1.0)
    max_len: int = param(16, ge=0, doc="train on pairs with both sides ≤ this many tokens (0 = all)")
    train_limit: int = param(0, ge=0, doc="use the first n training pairs (0 = all)")
    beam: int = param(4, ge=1, doc="beam width at evaluation (1 = greedy only)")
    decode_max_len: int = param(30, ge=1, doc="longest output in tokens")
    valid_limit: int = param(500, ge=0, doc="valid pairs scored for BLEU each epoch (0 = all)")

def model_config(cfg: Config, src_vocab: int, tgt_vocab: int) -> ModelConfig:
    return ModelConfig(src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed=cfg.embed, hidden=cfg.hidden,
                       bidirectional=cfg.bidirectional, attention=cfg.attention,
                       relu_embedding=cfg.relu_embedding, dropout=cfg.dropout)

# ---------------------------------------------------------------- data
def _load(data_dir: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from reprozoo.data.tatoeba import load_split

    return load_split(data_dir, split)

def _vocabs(data_dir: Path) -> tuple[Vocab, Vocab]:
    return (Vocab.from_json(read_json(Path(data_dir) / "vocab_ja.json")),
            Vocab.from_json(read_json(Path(data_dir) / "vocab_en.json")))

def batches(n_src_lens: list[int], batch_size: int, g: torch.Generator) -> list[list[int]]:
    """Shuffled index batches of similar source length (sorted inside chunks of 50 batches)."""
    perm = torch.randperm(len(n_src_lens), generator=g).tolist()
    chunk = batch_size * 50
    out = []
    for i in range(0, len(perm), chunk):
        part = sorted(perm[i:i + chunk], key=lambda j: n_src_lens[j])
        out += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    order = torch.randperm(len(out), generator=g).tolist()
    return [out[k] for k in order]

def loss_on(model: Seq2Seq, src: list, tgt: list, device, teacher_forcing: float = 1.0,
            label_smoothing: float = 0.0, g: torch.Generator | None = None) -> torch.Tensor:
    x = pad_batch(src).to(device)
    y = pad_batch(tgt, sos=True, eos=True).to(device)                     # (B, T+2)
    logits = model(x, y[:, :-1], teacher_forcing, g)                       # (B, T+1, V)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y[:, 1:].reshape(-1),
                           ignore_index=0, label_smoothing=label_smoothing)

# ---------------------------------------------------------------- decoding + scoring
class Translator:
    """A trained model + both vocabularies + tokenizers, rebuilt from a checkpoint blob."""

    def __init__(self, blob: dict, device="cpu"):
        state = blob["state"]
        self.src_vocab, self.tgt_vocab = Vocab(state["ja_itos"]), Vocab(state["en_itos"])
        cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in blob["config"].items()})
        self.cfg = cfg
        self.model = Seq2Seq(model_config(cfg, len(self.src_vocab), len(self.tgt_vocab))).to(device)
        checkpoint.load_state(self.model, state["model"], where=blob.get("_path", "checkpoint"))
        self.model.eval()
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

def score(hyps: list[str], refs: list[str]) -> dict:
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU(tokenize="13a", lowercase=True)
    chrf = sacrebleu.metrics.CHRF(lowercase=True)
    b, c = bleu.corpus_score(hyps, [refs]), chrf.corpus_score(hyps, [refs])
    return {"bleu": b.score, "chrf": c.score, "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}

# ---------------------------------------------------------------- train
def train(cfg: Config, ctx) -> dict:
    dev = ctx.device
    vja, ven = _vocabs(ctx.data_dir)
    src, tgt = _load(ctx.data_dir, "train")
    keep = [i for i in range(len(src)) if not cfg.max_len or max(len(src[i]), len(tgt[i])) <= cfg.max_len]
    if cfg.train_limit:
        keep = keep[:cfg.train_limit]
    src, tgt = [src[i].tolist() for i in keep], [tgt[i].tolist() for i in keep]
    vsrc, vtgt = _load(ctx.data_dir, "valid")
    vsrc, vtgt = [s.tolist() for s in vsrc], [t.tolist() for t in vtgt]
    vrefs = [line.split("\t")[3] for line in (Path(ctx.data_dir) / "valid.tsv").read_text("utf-8").splitlines()]
    nv = min(cfg.valid_limit or len(vsrc), len(vsrc))

    model = Seq2Seq(model_config(cfg, len(vja), len(ven))).to(dev)
    opt = (torch.optim.Adam(model.parameters(), lr=cfg.lr) if cfg.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=cfg.lr))
    g = torch.Generator().manual_seed(ctx.seed)
    lens = [len(s) for s in src]
    print(f"seq2seq: {len(src)} training pairs, vocab ja={len(vja)} en={len(ven)}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", file=sys.stderr)
    best, best_state, t0, step = -1.0, None, time.perf_counter(), 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        tot, n = 0.0, 0
        for idx in batches(lens, cfg.batch_size, g):
            loss = loss_on(model, [src[i] for i in idx], [tgt[i] for i in idx], dev,
                           cfg.teacher_forcing, cfg.label_smoothing, g)
            step += 1
            check_finite(loss.item(), step)
            opt.zero_grad()
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            tot, n = tot + loss.item() * len(idx), n + len(idx)
        model.eval()
        with torch.no_grad():
            vl = [loss_on(model, vsrc[k:min(k + 256, nv)], vtgt[k:min(k + 256, nv)], dev).item()
                  * len(vsrc[k:min(k + 256, nv)]) for k in range(0, nv, 256)]
        tr = Translator.__new__(Translator)
        tr.model, tr.cfg, tr.tgt_vocab, tr.device, tr._en = model, cfg, ven, dev, None
        hyp_ids, _ = tr.decode_ids(vsrc[:nv])
        vb = score([tr.detok(h) for h in hyp_ids], vrefs[:nv])["bleu"]
        ctx.log_step(epoch, train_loss=tot / n, valid_loss=sum(vl) / nv, valid_bleu=vb)
        el = time.perf_counter() - t0
        ctx.tracker.log_metrics({"elapsed_s": el, "train_pairs_per_s": epoch * len(src) / el}, step=epoch)
        print(f"epoch {epoch}: train_loss {tot / n:.3f} valid_loss {sum(vl) / nv:.3f} "
              f"valid_bleu {vb:.2f} [{el:.0f}s]", file=sys.stderr)
        if vb > best:
            best, best_state = vb, copy.deepcopy(model.state_dict())
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curves.png",
                          groups={"loss": ["train_loss", "valid_loss"], "valid BLEU": ["valid_bleu"]},
                          title=ctx.name)
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"model": best_state, "ja_itos": vja.itos, "en_itos": ven.itos})
    last = ctx.history[-1]
    return {"train_loss": last["train_loss"], "valid_loss": last["valid_loss"], "best_valid_bleu": best,
            "train_pairs": len(src)}

# ---------------------------------------------------------------- evaluate
def load_translator(path: Path, family: str = "seq2seq", device="cpu") -> Translator:
    blob = checkpoint.load(path, family=family, map_location=device)
    blob["_path"] = str(path)
    state = blob.get("state", {})
    if not all(k in state for k in ("model", "ja_itos", "en_itos")):
        raise CheckpointError(f"{path}: not a seq2seq checkpoint (no model/vocabularies)")
    return Translator(blob, device)

def check_vocab(tr: Translator, data_dir: Path, path: Path) -> None:
    vja, ven = _vocabs(data_dir)
    for side, a, b in (("ja", tr.src_vocab, vja), ("en", tr.tgt_vocab, ven)):
        if a.itos != b.itos:
            raise CheckpointError(f"{path}: the model's {side} vocabulary ({len(a)} tokens) does not match "
                                  f"{data_dir}/vocab_{side}.json ({len(b)} tokens); retrain the model "
                                  "after re-running the prepare stage (dvc repro)")

def _cjk_font() -> str | None:
    return plots.cjk_font()


def attention_figure(rows: list[tuple[list[str], list[str], torch.Tensor]], path: Path) -> None:
    """One heat map per sample. Without a CJK font the Japanese axis shows token positions
    (samples.md lists the tokens)."""
    font = _cjk_font()
    fig, axes = plots.figure(2, 3, figsize=(15, 9), squeeze=False)
    for ax, (src, out, w) in zip(axes.flat, rows):
        ax.imshow(w.numpy(), cmap="viridis", aspect="auto", vmin=0, vmax=1)
        labels = src if font else [f"{i}" for i in range(len(src))]
        ax.set_xticks(range(len(src)), labels, rotation=90 if font else 0, fontsize=8,
                      **({"fontfamily": font} if font else {}))
        ax.set_yticks(range(len(out)), out, fontsize=8)
        if not font:
            ax.set_xlabel("Japanese token position")
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.suptitle("attention (rows: output tokens incl. <eos>; columns: Japanese tokens)")
    plots.savefig(fig, path)


def evaluate(cfg: Config, ctx) -> dict:
    tr = load_translator(ctx.model_path, ctx.name, ctx.device)
    check_vocab(tr, ctx.data_dir, ctx.model_path)
    src, _ = _load(ctx.data_dir, "test")
    src = [s.tolist() for s in src]
    refs = [line.split("\t")[3] for line in (Path(ctx.data_dir) / "test.tsv").read_text("utf-8").splitlines()]
    t0 = time.perf_counter()
    greedy, _ = tr.decode_ids(src)
    ctx.tracker.log_metrics({"greedy_sentences_per_s": len(src) / (time.perf_counter() - t0)})
    result = {"test_pairs": len(src), "greedy": score([tr.detok(h) for h in greedy], refs)}
    if cfg.beam > 1:
        t0 = time.perf_counter()
        beamed, _ = tr.decode_ids(src, beam=cfg.beam)
        ctx.tracker.log_metrics({"beam_sentences_per_s": len(src) / (time.perf_counter() - t0)})
        result["beam"] = {"width": cfg.beam, **score([tr.detok(h) for h in beamed], refs)}
    best = result.get("beam", result["greedy"])
    result["bleu"], result["chrf"] = best["bleu"], best["chrf"]

    lines = ["| Japanese | position:token (unknown in *italics*) | greedy | beam |", "|---|---|---|---|"]
    rows = []
    for s in SAMPLES:
        toks = tr.tokenize(s)
        ids = tr.src_vocab.encode(toks)
        g_ids, g_att = tr.decode_ids([ids])
        b_ids, _ = tr.decode_ids([ids], beam=cfg.beam)
        shown = " ".join(f"{k}:*{t}*" if i == UNK_ID else f"{k}:{t}" for k, (t, i) in enumerate(zip(toks, ids)))
        lines.append(f"| {s} | {shown} | {tr.detok(g_ids[0])} | {tr.detok(b_ids[0])} |")
        if g_att[0] is not None:
            rows.append((toks, tr.tgt_vocab.decode(g_ids[0]) + ["<eos>"], g_att[0][:, :len(toks)]))
    write_text(ctx.report_dir / "samples.md", f"# {ctx.name}: sample translations\n\n" + "\n".join(lines) + "\n")
    if rows:
        attention_figure(rows, ctx.report_dir / "attention.png")
    return result

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
