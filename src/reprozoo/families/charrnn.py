"""Character-level language model (GRU or Elman RNN) on the English side of Tatoeba.

Source: seed article 004, section "RNN and BPTT" — the article's tanh RNN predicting the
next letter of "apple" (its NumPy version with a gradient-checked BPTT is
`reprozoo.rnn_numpy`); here the same task at corpus scale in torch: characters embedded,
one recurrent layer, softmax over the character set, truncated BPTT over `seq_len`
characters, Adam, gradient clipping.

Data: the `en_raw` column (NFKC-normalized sentences) of data/processed/tatoeba/{train,
valid,test}.tsv, lower-cased when `lowercase`, one sentence a line ("\\n" ends each, so
the model learns where sentences stop). Tatoeba repeats English sentences (one per
Japanese translation) and the split is by the Japanese side, so each split's English
sentences are de-duplicated and valid/test keep only sentences absent from train: the
test cross-entropy is measured on unseen sentences. Characters not seen in training map
to id 0 (`<unk>`).

Default profile (GRU 128, 1,000 Adam steps of 64 × 64 characters; seed 0): test
cross-entropy 1.400 nats/char = 2.02 bits/char (valid 1.409 nats) on 61,046 held-out
characters; 54 s of CPU time on one thread (`OMP_NUM_THREADS=1 python pipelines/train.py
charrnn`, then `evaluate.py charrnn`, on the tokenize stage's output of 12:18 UTC,
measured by helper C2). Greedy "app" → "appen is a started to the party."; all
completions are in reports/eval/charrnn/samples.md.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from reprozoo import checkpoint, plots, progress
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.errors import DataError
from reprozoo.io import write_text
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator

UNK = "\x00"  # id 0: characters never seen in training


@dataclasses.dataclass(frozen=True)
class Config:
    cell: Literal["gru", "rnn"] = "gru"
    embed: int = param(32, gt=0, doc="character embedding size")
    hidden: int = param(128, gt=0)
    steps: int = param(1000, gt=0, doc="optimizer steps (batches of random windows)")
    seq_len: int = param(64, gt=1, doc="BPTT length in characters")
    batch_size: int = param(64, gt=0)
    lr: float = param(2e-3, gt=0.0, doc="Adam step size")
    clip: float = param(1.0, gt=0.0, doc="gradient-norm clip")
    eval_every: int = param(250, gt=0, doc="steps between validation passes")
    train_limit: int = param(0, ge=0, doc="use the first n training sentences; 0 = all")
    eval_limit: int = param(0, ge=0, doc="score the first n valid/test sentences; 0 = all")
    lowercase: bool = True
    prefixes: tuple[str, ...] = ("app", "i want to ", "this is ", "she ")
    sample_len: int = param(60, gt=0, doc="characters generated per completion")
    temperature: float = param(0.7, gt=0.0)
    n_samples: int = param(3, gt=0, doc="sampled completions per prefix (plus the greedy one)")


# ------------------------------------------------------------------ data
def read_sentences(path: Path, lowercase: bool) -> list[str]:
    """The `en_raw` column (4th) of a C1 tokenize-stage TSV, de-duplicated in file order."""
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


# ------------------------------------------------------------------ model
class CharModel(nn.Module):
    def __init__(self, n_chars: int, embed: int, hidden: int, cell: str):
        super().__init__()
        self.emb = nn.Embedding(n_chars, embed)
        rnn = nn.GRU if cell == "gru" else nn.RNN  # nn.RNN = the article's tanh cell
        self.rnn = rnn(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_chars)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.rnn(self.emb(x), h)      # (B, T, H)
        return self.out(y), h                # logits (B, T, V)


def build(cfg: Config, n_chars: int) -> CharModel:
    return CharModel(n_chars, cfg.embed, cfg.hidden, cfg.cell)


@torch.no_grad()
def cross_entropy(model: CharModel, ids: torch.Tensor, device: Any, strips: int = 32,
                  chunk: int = 200) -> float:
    """Mean next-character cross-entropy (nats) over a whole stream, carrying the state:
    the stream is cut into `strips` contiguous rows scored in `chunk`-long pieces."""
    model.eval()
    strips = max(1, min(strips, (len(ids) - 1) // 64))   # short texts: fewer, longer rows
    n = (len(ids) - 1) // strips * strips
    if n <= 0:
        raise DataError("evaluation text is empty")
    x = ids[:n].view(strips, -1).to(device)
    y = ids[1:n + 1].view(strips, -1).to(device)
    h, total = None, 0.0
    for i in range(0, x.shape[1], chunk):
        logits, h = model(x[:, i:i + chunk], h)
        total += F.cross_entropy(logits.flatten(0, 1), y[:, i:i + chunk].flatten(), reduction="sum").item()
    model.train()
    return total / n


@torch.no_grad()
def complete(model: CharModel, itos: str, prefix: str, n: int, temperature: float,
             g: torch.Generator | None, device: Any) -> str:
    """Continue `prefix` for up to n characters (stops at the end of the sentence);
    greedy when `g` is None, else sampled at `temperature` from the seeded generator."""
    stoi = {ch: i for i, ch in enumerate(itos)}
    model.eval()
    x = torch.tensor([[stoi.get(ch, 0) for ch in "\n" + prefix]], device=device)
    logits, h = model(x)
    out = []
    for _ in range(n):
        last = logits[0, -1].float().cpu()
        if g is None:
            i = int(last.argmax())
        else:
            i = int(torch.multinomial(F.softmax(last / temperature, -1), 1, generator=g))
        if itos[i] == "\n":
            break
        out.append(itos[i] if itos[i] != UNK else "?")
        logits, h = model(torch.tensor([[i]], device=device), h)
    model.train()
    return prefix + "".join(out)


# ------------------------------------------------------------------ family API
def train(cfg: Config, ctx: Context) -> dict[str, Any]:
    data = load_splits(cfg, ctx.data_dir)
    itos = UNK + "".join(sorted({ch for s in data["train"] for ch in s + "\n"}))
    stoi = {ch: i for i, ch in enumerate(itos)}
    tr, va = encode(data["train"], stoi), encode(data["valid"], stoi)
    if len(tr) <= cfg.seq_len + 1:
        raise DataError(f"{ctx.data_dir}: training text has {len(tr)} characters; need > seq_len + 1")
    model = build(cfg, len(itos)).to(ctx.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    g = generator(ctx.seed)
    pb = progress.bar(cfg.steps, desc=f"train {ctx.name}", unit="step")
    running = 0.0
    for step in range(1, cfg.steps + 1):
        # B random windows of seq_len+1 characters; the state starts at 0 in each window
        start = torch.randint(0, len(tr) - cfg.seq_len - 1, (cfg.batch_size,), generator=g)
        idx = start[:, None] + torch.arange(cfg.seq_len + 1)          # (B, T+1)
        batch = tr[idx].to(ctx.device)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        check_finite(loss.item(), step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        running += loss.item()
        pb.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            k = step % cfg.eval_every or cfg.eval_every
            valid = cross_entropy(model, va, ctx.device)
            ctx.log_step(step, train_loss=running / k, valid_loss=valid,
                         valid_bits_per_char=valid / math.log(2))
            pb.set_postfix(train=running / k, valid=valid)
            running = 0.0
    pb.close()
    plots.learning_curves(ctx.history, ctx.report_dir / "learning_curve.png",
                          groups={"cross-entropy (nats/char)": ["train_loss", "valid_loss"]},
                          title=f"{ctx.name}: {cfg.cell}, x = optimizer step")
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg),
                    state={"model": model.state_dict(), "itos": itos})
    last = ctx.history[-1]
    return {"train_loss": last["train_loss"], "valid_loss": last["valid_loss"],
            "n_chars": len(itos), "train_characters": len(tr)}


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    blob = checkpoint.load(ctx.model_path, family=ctx.name)
    itos: str = blob["state"]["itos"]
    model = build(Config(**{**to_dict(cfg), **_model_keys(blob["config"])}), len(itos)).to(ctx.device)
    checkpoint.load_state(model, blob["state"]["model"], str(ctx.model_path))
    data = load_splits(cfg, ctx.data_dir)
    stoi = {ch: i for i, ch in enumerate(itos)}
    te = encode(data["test"], stoi)
    ce = cross_entropy(model, te, ctx.device)
    g = generator(ctx.seed)
    samples: dict[str, str] = {}
    lines = ["| prefix | greedy | sampled (T=%g) |" % cfg.temperature, "|---|---|---|"]
    for p in cfg.prefixes:
        p = p.lower() if cfg.lowercase else p
        greedy = complete(model, itos, p, cfg.sample_len, cfg.temperature, None, ctx.device)
        sampled = [complete(model, itos, p, cfg.sample_len, cfg.temperature, g, ctx.device)
                   for _ in range(cfg.n_samples)]
        samples[p.strip()] = greedy
        lines.append(f"| `{p}` | {greedy} | {' / '.join(sampled)} |")
    write_text(ctx.report_dir / "samples.md", "\n".join(lines) + "\n")
    return {"test_nats_per_char": ce, "test_bits_per_char": ce / math.log(2),
            "test_perplexity_per_char": math.exp(ce), "test_characters": len(te),
            "unk_char_rate": float((te == 0).float().mean()), "greedy_completion": samples}


def _model_keys(saved: dict[str, Any]) -> dict[str, Any]:
    """The architecture keys come from the checkpoint, so a changed params section cannot
    build a model that does not fit it (load_state would then name the mismatch)."""
    return {k: saved[k] for k in ("cell", "embed", "hidden") if k in saved}
