"""seq2seq evaluation: sacreBLEU and chrF on the test split (greedy, and beam search when
`beam` > 1), samples.md with the seed article's sentences, attention heat maps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from reprozoo import checkpoint, plots
from reprozoo.context import Context
from reprozoo.data.text import UNK_ID, Vocab
from reprozoo.errors import CheckpointError
from reprozoo.io import write_text

from .config import Config
from .data import load_split, load_vocabs
from .model import Seq2Seq
from .translate import Translator

SAMPLES = ("海外に旅行に行きたい。", "この映画は面白いですか？", "これは料理です。",
           "この机は私の一番のお気に入りです。", "彼はとてもいい人です。", "とても悲しいです。")


def load_model(path: Path, family: str = "seq2seq", device: Any = "cpu") -> Translator:
    """The checkpoint at `path` as a Translator: the network rebuilt from the saved config
    and vocabulary sizes, the weights restored, in eval mode."""
    ck = checkpoint.load(path, family=family, config_cls=Config, map_location=device)
    state = ck.state
    if not all(k in state for k in ("model", "ja_itos", "en_itos")):
        raise CheckpointError(f"{path}: not a seq2seq checkpoint (no model/vocabularies)")
    src_vocab, tgt_vocab = Vocab(state["ja_itos"]), Vocab(state["en_itos"])
    model = Seq2Seq(ck.config.model_config(len(src_vocab), len(tgt_vocab))).to(device)
    checkpoint.restore(model, state["model"], path)
    model.eval()
    return Translator(model, ck.config, src_vocab, tgt_vocab, device)


def check_vocab(tr: Translator, data_dir: Path, path: Path) -> None:
    vja, ven = load_vocabs(data_dir)
    for side, a, b in (("ja", tr.src_vocab, vja), ("en", tr.tgt_vocab, ven)):
        if a.itos != b.itos:
            raise CheckpointError(f"{path}: the model's {side} vocabulary ({len(a)} tokens) does not match "
                                  f"{data_dir}/vocab_{side}.json ({len(b)} tokens); retrain the model "
                                  "after re-running the prepare stage (dvc repro)")


def score(hyps: list[str], refs: list[str]) -> dict:
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU(tokenize="13a", lowercase=True)
    chrf = sacrebleu.metrics.CHRF(lowercase=True)
    b, c = bleu.corpus_score(hyps, [refs]), chrf.corpus_score(hyps, [refs])
    return {"bleu": b.score, "chrf": c.score, "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


def attention_figure(rows: list[tuple[list[str], list[str], torch.Tensor]], path: Path) -> None:
    """One heat map per sample. Without a CJK font the Japanese axis shows token positions
    (samples.md lists the tokens)."""
    font = plots.cjk_font()
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


def evaluate(cfg: Config, ctx: Context) -> dict:
    tr = load_model(ctx.model_path, ctx.name, ctx.device)
    check_vocab(tr, ctx.data_dir, ctx.model_path)
    src, _ = load_split(ctx.data_dir, "test")
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
