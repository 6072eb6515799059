"""Seq2seq speed: training and decoding sentences/s, batched vs the article's per-pair loop.

The article trains one sentence pair per step (75,000–150,000 steps). Here the same
model (the article's GRU encoder/decoder, SGD, teacher forcing 0.5) is timed on the same
Tatoeba pairs with batch 1 and with batch 64; the ratio and the implied time for one
epoch are recorded. Decoding: batched greedy, per-sentence greedy and beam search.

    python benchmarks/seq2seq.py [--pairs 512] [--batch 64]

Needs data/processed/tatoeba (dvc repro prepare@tatoeba). Writes reports/bench/seq2seq.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=512, help="pairs timed in the batch-1 loop")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--data", type=Path, default=Path("data/processed/tatoeba"))
    args = ap.parse_args()

    from reprozoo.bench import write_result
    from reprozoo.families.seq2seq import Config
    from reprozoo.families.seq2seq.data import load_split, load_vocabs
    from reprozoo.families.seq2seq.model import Seq2Seq, pad_batch
    from reprozoo.families.seq2seq.train import loss_on

    torch.manual_seed(0)
    vja, ven = load_vocabs(args.data)
    src, tgt = load_split(args.data, "train")
    keep = [i for i in range(len(src)) if max(len(src[i]), len(tgt[i])) <= 10]  # article: MAX_LENGTH 10
    src, tgt = [src[i].tolist() for i in keep], [tgt[i].tolist() for i in keep]
    epoch_pairs = len(src)
    cfg = Config(embed=256, hidden=256, bidirectional=False, attention="none", relu_embedding=True,
                     dropout=0.0, optimizer="sgd", lr=0.01, teacher_forcing=0.5, grad_clip=0.0)
    g = torch.Generator().manual_seed(0)

    def train_rate(batch: int, n_pairs: int) -> tuple[float, float]:
        m = Seq2Seq(cfg.model_config(len(vja), len(ven)))
        opt = torch.optim.SGD(m.parameters(), lr=cfg.lr)
        idx = torch.randperm(len(src), generator=g)[:n_pairs].tolist()
        t0, loss = time.perf_counter(), 0.0
        for k in range(0, n_pairs, batch):
            b = idx[k:k + batch]
            lo = loss_on(m, [src[i] for i in b], [tgt[i] for i in b], "cpu", cfg.teacher_forcing, 0.0, g)
            opt.zero_grad()
            lo.backward()
            opt.step()
            loss = lo.item()
        return n_pairs / (time.perf_counter() - t0), loss

    per_pair, _ = train_rate(1, args.pairs)
    batched, _ = train_rate(args.batch, max(args.pairs * 4, args.batch * 8))

    # decoding with the main architecture (untrained weights: speed only, full-length outputs)
    m = Seq2Seq(Config().model_config(len(vja), len(ven))).eval()
    test_src, _ = load_split(args.data, "test")
    test_src = [s.tolist() for s in test_src[:256]]
    t0 = time.perf_counter()
    for k in range(0, len(test_src), 128):
        m.greedy(pad_batch(test_src[k:k + 128]), max_len=20)
    greedy_batched = len(test_src) / (time.perf_counter() - t0)
    few = test_src[:32]
    t0 = time.perf_counter()
    for s in few:
        m.greedy(pad_batch([s]), max_len=20)
    greedy_single = len(few) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for s in few:
        m.beam_search(pad_batch([s]), beam=4, max_len=20)
    beam4 = len(few) / (time.perf_counter() - t0)

    results = {
        "model": "article GRU enc/dec (embed 256, hidden 256, ReLU emb, SGD, teacher forcing 0.5)",
        "epoch_pairs": epoch_pairs,
        "train_sentences_per_s": {"batch_1": per_pair, f"batch_{args.batch}": batched},
        "batched_over_per_pair": batched / per_pair,
        "epoch_seconds": {"batch_1": epoch_pairs / per_pair, f"batch_{args.batch}": epoch_pairs / batched},
        "decode_sentences_per_s": {"greedy_batched_128": greedy_batched, "greedy_batch_1": greedy_single,
                                   "beam_4": beam4},
        "load_average_1min": os.getloadavg()[0],
        "quality": "speed only; BLEU of the trained models is in reports/metrics/seq2seq*.json",
    }
    for k, v in results.items():
        print(f"{k}: {v}")
    write_result("seq2seq", results)


if __name__ == "__main__":
    main()
