"""word2vec: our torch SGNS vs gensim's Word2Vec, side by side, on the same corpus and
hyperparameters; the goal (issue 16) is ours at >= 0.5 x gensim's words/s at an equal or
better pair-check score.

For each language: the training split of data/processed/tatoeba (ids → words, `<unk>`
dropped), skip-gram, negative sampling, subsampling, linear learning-rate decay to
lr·1e-4, the hyperparameters of the family's params section (profile applied). Both
sides get the same CPU threads (`--threads`, default 1: gensim `workers`, torch
`set_num_threads`), so the comparison is like with like. Each side trains `--repeats`
times, alternating, run r with seed `seed + r` (params.yaml's seed first):

- speed: the fastest run counts (all timings are kept). On a shared machine the minimum
  is the run least disturbed by other work; words/s = corpus words × epochs / seconds,
  counted the same way for both sides; the ratio is ours/gensim words/s.
- quality: the pair check on data/static/w2v_pairs_<lang>.tsv (`pairs`: the run with
  params.yaml's seed; `pair_scores`: every run's score, and their mean: with 39-40
  pairs one pair is 0.025, about what the seed alone moves) and the query neighbours.

gensim is imported here only (pip install gensim, the `bench` extra).

usage: python benchmarks/word2vec.py [--params params.yaml] [--langs en ja] [--threads 1]
                                     [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--langs", nargs="+", default=["en", "ja"])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of each side (gensim workers, torch threads)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side; the fastest counts")
    ap.add_argument("--data", default=None, help="prepared folder (default: the family's data entry)")
    args = ap.parse_args()

    import numpy as np
    import torch
    try:  # the bench extra; checked before any training
        import gensim
        from gensim.models import Word2Vec
    except ImportError:
        sys.exit("gensim is not installed: pip install gensim==4.4.0 (the `bench` extra)")

    from reprozoo.config import load_params
    from reprozoo.families.word2vec import Config
    from reprozoo.families.word2vec.data import SPECIALS, Vocab, load_corpus, read_pairs
    from reprozoo.families.word2vec.evaluate import pair_check
    from reprozoo.families.word2vec.model import nearest
    from reprozoo.families.word2vec.train import fit

    torch.set_num_threads(args.threads)
    params = load_params(args.params)
    results = {}
    for lang in args.langs:
        name = f"word2vec_{lang}"
        cfg = params.build(Config, name)
        data = Path(args.data or params.raw["families"][name]["data"])
        itos, sents = load_corpus(data, lang, "train", cfg.train_limit)
        vocab = Vocab(itos, sents, cfg.min_count)
        encoded = vocab.encode(sents)
        n_words = sum(len(s) for s in encoded)
        pairs = read_pairs(Path(params.raw["families"][name]["needs"]))  # data/static/w2v_pairs_<lang>.tsv
        unk = set(SPECIALS)
        corpus = [[itos[t] for t in s if itos[t] not in unk] for s in sents]

        def ours_run(seed):
            w_in = fit(cfg, vocab, encoded, seed)[0]
            return w_in, vocab.words, vocab.index

        def gensim_run(seed):
            gm = Word2Vec(sentences=corpus, vector_size=cfg.dim, window=cfg.window, negative=cfg.negative,
                          sample=cfg.sample, min_count=cfg.min_count, epochs=cfg.epochs, alpha=cfg.lr,
                          min_alpha=cfg.lr * 1e-4, sg=1, hs=0, workers=args.threads, seed=seed)
            words = list(gm.wv.index_to_key)
            return torch.tensor(np.asarray(gm.wv.vectors)), words, {w: i for i, w in enumerate(words)}

        times = {"ours": [], "gensim": []}
        checks = {"ours": [], "gensim": []}
        first = {}
        for r in range(args.repeats):
            for side, run in (("ours", ours_run), ("gensim", gensim_run)):
                t0 = time.perf_counter()
                vecs, words, index = run(params.seed + r)
                times[side].append(time.perf_counter() - t0)
                checks[side].append(pair_check(vecs, words, index, pairs, cfg.neighbours))
                first.setdefault(side, (vecs, words, index))
        sides = {}
        for side, (vecs, words, index) in first.items():
            secs = min(times[side])
            scores = [c["score"] for c in checks[side]]
            sides[side] = {"seconds": secs, "words_per_second": n_words * cfg.epochs / secs,
                           "all_seconds": times[side], "vocab_size": len(words),
                           "pairs": checks[side][0], "pair_scores": scores,
                           "pair_score_mean": sum(scores) / len(scores),
                           "neighbours": {q: " ".join(w for w, _ in nearest(vecs, words, index, q, cfg.neighbours))
                                          for q in cfg.queries}}
        ours, gen = sides["ours"], sides["gensim"]
        ratio = ours["words_per_second"] / gen["words_per_second"]
        results[lang] = {
            "corpus_words": n_words, "config": dict(vars(cfg)),
            "threads": {"torch": torch.get_num_threads(), "gensim_workers": args.threads,
                        "note": "like with like: both sides on the same number of CPU threads"},
            "repeats": args.repeats, "seeds": [params.seed + r for r in range(args.repeats)], "ours": ours, "gensim": {"version": gensim.__version__, **gen},
            "speed_ratio_ours_over_gensim": ratio,
            "goal": {"speed_ratio_min": 0.5, "speed_met": ratio >= 0.5,
                     "score_met": ours["pairs"]["score"] >= gen["pairs"]["score"],
                     "mean_score_met": ours["pair_score_mean"] >= gen["pair_score_mean"]}}
        print(f"{lang}: ours {ours['words_per_second']:.0f} words/s, pair score {ours['pairs']['score']:.3f} "
              f"(mean {ours['pair_score_mean']:.3f}) | gensim {gen['words_per_second']:.0f} words/s, pair score "
              f"{gen['pairs']['score']:.3f} (mean {gen['pair_score_mean']:.3f}) | "
              f"ours/gensim {ratio:.2f} ({args.threads} thread(s) each, best of {args.repeats})",
              file=sys.stderr)

    from reprozoo.bench import write_result

    write_result("word2vec", results)


if __name__ == "__main__":
    main()
