"""GRU encoder–decoder with optional attention, greedy and beam-search decoding.

A pure library (no I/O), built from a `ModelConfig` (`Config.model_config` in config.py).
Two configurations are used by the params sections seq2seq and seq2seq_seed:

- the main model: (bi-)GRU encoder over packed batches, GRU decoder with Luong-style
  attention (score ``dot``/``general``, or ``additive`` = Bahdanau's score
  v·tanh(W[h; s])), output from [decoder state; context];
- the article's baseline (``attention="none"``, ``relu_embedding=True``): GRU encoder,
  GRU decoder fed ReLU(embedding), linear + LogSoftmax output (the PyTorch
  "seq2seq translation" tutorial's DecoderRNN), initial decoder state = encoder's last.

Shapes: B batch, S source length, T target length, H hidden, V target vocabulary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from reprozoo.data.text import EOS_ID, PAD_ID, SOS_ID


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    src_vocab: int
    tgt_vocab: int
    embed: int = 128
    hidden: int = 256
    bidirectional: bool = True
    attention: str = "general"      # none | dot | general | additive
    relu_embedding: bool = False    # the article's decoder: ReLU on the target embedding
    dropout: float = 0.1


def pad_batch(seqs: Sequence[Sequence[int]], sos: bool = False, eos: bool = False) -> torch.Tensor:
    """(B, L) int64, right-padded with PAD_ID; optional <sos>/<eos> added."""
    rows = [([SOS_ID] if sos else []) + [int(i) for i in s] + ([EOS_ID] if eos else []) for s in seqs]
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD_ID, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return out


class Attention(nn.Module):
    def __init__(self, kind: str, hidden: int):
        super().__init__()
        self.kind = kind
        if kind == "general":
            self.W = nn.Linear(hidden, hidden, bias=False)
        elif kind == "additive":
            self.Wq = nn.Linear(hidden, hidden, bias=False)
            self.Wk = nn.Linear(hidden, hidden, bias=True)
            self.v = nn.Linear(hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B, T, H), keys (B, S, H), mask (B, S) True at real tokens → context (B, T, H),
        weights (B, T, S)."""
        if self.kind == "dot":
            scores = q @ keys.transpose(1, 2)
        elif self.kind == "general":
            scores = q @ self.W(keys).transpose(1, 2)
        else:  # additive (Bahdanau)
            scores = self.v(torch.tanh(self.Wq(q).unsqueeze(2) + self.Wk(keys).unsqueeze(1))).squeeze(-1)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        w = torch.softmax(scores, dim=-1)
        return w @ keys, w


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        H, E = cfg.hidden, cfg.embed
        self.src_emb = nn.Embedding(cfg.src_vocab, E, padding_idx=PAD_ID)
        self.tgt_emb = nn.Embedding(cfg.tgt_vocab, E, padding_idx=PAD_ID)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=cfg.bidirectional)
        dirs = 2 if cfg.bidirectional else 1
        self.enc_proj = nn.Linear(dirs * H, H) if dirs > 1 else nn.Identity()
        self.bridge = nn.Linear(dirs * H, H) if dirs > 1 else nn.Identity()
        self.decoder = nn.GRU(E, H, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.attn = Attention(cfg.attention, H) if cfg.attention != "none" else None
        self.combine = nn.Linear(2 * H, H) if self.attn is not None else None
        self.out = nn.Linear(H, cfg.tgt_vocab)

    # ------------------------------------------------------------ encoder
    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """src (B, S) → memory (B, S, H), mask (B, S), decoder initial state (1, B, H)."""
        mask = src != PAD_ID
        lengths = mask.sum(1).clamp(min=1).cpu()
        emb = self.drop(self.src_emb(src))                                     # (B, S, E)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, dirs*H)
        h = torch.cat([h[0], h[1]], dim=-1) if self.cfg.bidirectional else h[0]      # (B, dirs*H)
        h0 = torch.tanh(self.bridge(h)) if self.cfg.bidirectional else h
        return self.enc_proj(out), mask, h0.unsqueeze(0)

    # ------------------------------------------------------------ decoder
    def _embed_tgt(self, y: torch.Tensor) -> torch.Tensor:
        e = self.tgt_emb(y)
        return self.drop(F.relu(e) if self.cfg.relu_embedding else e)

    def _readout(self, dec: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """dec (B, T, H) → logits (B, T, V), attention weights (B, T, S) or None."""
        if self.attn is None:
            return self.out(self.drop(dec)), None
        ctx, w = self.attn(dec, memory, mask)
        h = torch.tanh(self.combine(torch.cat([dec, ctx], dim=-1)))
        return self.out(self.drop(h)), w

    def step(self, y: torch.Tensor, h: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One decoder step: y (B,) previous token → logits (B, V), new state, weights (B, S)."""
        dec, h = self.decoder(self._embed_tgt(y).unsqueeze(1), h)              # (B, 1, H)
        logits, w = self._readout(dec, memory, mask)
        return logits[:, 0], h, (w[:, 0] if w is not None else None)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, teacher_forcing: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits (B, T, V) for decoder inputs tgt_in (B, T) (= <sos> + target).

        With teacher_forcing < 1, each step feeds the gold token with that probability
        (one draw per step for the whole batch) and the model's argmax otherwise."""
        memory, mask, h = self.encode(src)
        if teacher_forcing >= 1.0:  # the whole target in one GRU call
            dec, _ = self.decoder(self._embed_tgt(tgt_in), h)
            return self._readout(dec, memory, mask)[0]
        y, outs = tgt_in[:, 0], []
        for t in range(tgt_in.size(1)):
            logits, h, _ = self.step(y, h, memory, mask)
            outs.append(logits)
            if t + 1 < tgt_in.size(1):
                use_gold = torch.rand((), generator=generator).item() < teacher_forcing
                y = tgt_in[:, t + 1] if use_gold else logits.argmax(-1)
        return torch.stack(outs, dim=1)

    # ------------------------------------------------------------ decoding
    @torch.no_grad()
    def greedy(self, src: torch.Tensor, max_len: int = 30) -> tuple[list[list[int]], list[torch.Tensor | None]]:
        """Batched greedy decoding → token ids (without <eos>) and attention (T, S) per sentence."""
        memory, mask, h = self.encode(src)
        B = src.size(0)
        y = torch.full((B,), SOS_ID, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        toks, attns = [], []
        for _ in range(max_len):
            logits, h, w = self.step(y, h, memory, mask)
            y = logits.argmax(-1)
            toks.append(y)
            attns.append(w)
            done |= y == EOS_ID
            if bool(done.all()):
                break
        ids = torch.stack(toks, 1).tolist()
        out, att = [], []
        for b in range(B):
            seq = ids[b]
            n = seq.index(EOS_ID) if EOS_ID in seq else len(seq)
            out.append(seq[:n])
            att.append(torch.stack([a[b] for a in attns[:n + 1]]) if self.attn is not None else None)
        return out, att

    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, beam: int = 5, max_len: int = 30, alpha: float = 0.0
                    ) -> tuple[list[int], torch.Tensor | None]:
        """Beam search for one sentence src (1, S) → best ids (without <eos>), attention.

        Hypotheses are ranked by summed log-probability / length**alpha (alpha = 0: raw
        sum). With beam = 1 this is exactly greedy decoding."""
        memory, mask, h = self.encode(src)
        hyps = [([], 0.0, h, [])]          # tokens, logp, state, attention rows
        finished: list[tuple[list[int], float, list]] = []
        for _ in range(max_len):
            k = len(hyps)
            y = torch.tensor([t[-1] if t else SOS_ID for t, *_ in hyps], device=src.device)
            hs = torch.cat([x[2] for x in hyps], dim=1)                         # (1, k, H)
            logits, hs, w = self.step(y, hs, memory.expand(k, -1, -1), mask.expand(k, -1))
            logp = torch.log_softmax(logits, -1) + torch.tensor([x[1] for x in hyps], device=src.device)[:, None]
            top = logp.flatten().topk(min(beam, logp.numel()))
            V = logits.size(1)
            new = []
            for score, idx in zip(top.values.tolist(), top.indices.tolist()):
                i, tok = divmod(idx, V)
                toks, _, _, att = hyps[i]
                att = att + ([w[i]] if w is not None else [])
                if tok == EOS_ID:
                    finished.append((toks, score, att))
                else:
                    new.append((toks + [tok], score, hs[:, i:i + 1], att))
            hyps = new
            best_done = max((s / max(len(t) + 1, 1) ** alpha for t, s, _ in finished), default=None)
            if not hyps or (best_done is not None and len(finished) >= beam):
                break
        if not finished:
            finished = [(t, s, a) for t, s, _, a in hyps]
        toks, _, att = max(finished, key=lambda f: f[1] / max(len(f[0]) + 1, 1) ** alpha)
        return toks, (torch.stack(att) if att else None)
