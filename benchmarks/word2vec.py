"""word2vec: our torch SGNS vs gensim's Word2Vec on the same corpus and hyperparameters.

For each language: the training split of data/processed/tatoeba (ids → words, `<unk>`
dropped), skip-gram, negative sampling, subsampling, linear learning-rate decay, the
hyperparameters of the family's params section (profile applied). Records wall time,
words/s (corpus words × epochs / seconds, both sides counted the same way), the pair
check on data/static/w2v_pairs_<lang>.tsv and the query neighbours. gensim is imported
here only (pip install gensim); it runs with workers=1 unless --workers.

usage: python benchmarks/word2vec.py [--params params.yaml] [--langs en ja] [--workers 1]
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
    ap.add_argument("--workers", type=int, default=1, help="gensim worker threads")
    ap.add_argument("--data", default=None, help="prepared folder (default: the family's data entry)")
    args = ap.parse_args()

    import numpy as np
    import torch

    from reprozoo.config import load_params
    from reprozoo.families.word2vec import Config
    from reprozoo.families.word2vec.data import SPECIALS, Vocab, load_corpus, read_pairs
    from reprozoo.families.word2vec.evaluate import pair_check
    from reprozoo.families.word2vec.model import nearest
    from reprozoo.families.word2vec.train import fit

    params = load_params(args.params)
    results = {}
    for lang in args.langs:
        name = f"word2vec_{lang}"
        cfg = params.build(Config, name)
        data = Path(args.data or params.raw["families"][name]["data"])
        itos, sents = load_corpus(data, lang, "train", cfg.train_limit)
        vocab = Vocab(itos, sents, cfg.min_count)
        n_words = sum(len(s) for s in vocab.encode(sents))
        pairs = read_pairs(Path(params.raw["families"][name]["needs"]))  # data/static/w2v_pairs_<lang>.tsv

        t0 = time.perf_counter()
        w_in, _, stats = fit(cfg, vocab, vocab.encode(sents), params.seed)
        ours_s = time.perf_counter() - t0
        ours = {"seconds": ours_s, "words_per_second": n_words * cfg.epochs / ours_s,
                "vocab_size": len(vocab.words), "final_train_loss": stats["train_loss"],
                "pairs": pair_check(w_in, vocab.words, vocab.index, pairs, cfg.neighbours),
                "neighbours": {q: " ".join(w for w, _ in nearest(w_in, vocab.words, vocab.index, q, cfg.neighbours))
                               for q in cfg.queries}}

        try:
            from gensim.models import Word2Vec
        except ImportError:
            results[lang] = {"ours": ours, "gensim": "not installed (pip install gensim)"}
            continue
        unk = set(SPECIALS)
        corpus = [[itos[t] for t in s if itos[t] not in unk] for s in sents]
        t0 = time.perf_counter()
        gm = Word2Vec(sentences=corpus, vector_size=cfg.dim, window=cfg.window, negative=cfg.negative,
                      sample=cfg.sample, min_count=cfg.min_count, epochs=cfg.epochs, alpha=cfg.lr,
                      min_alpha=cfg.lr * 1e-4, sg=1, hs=0, workers=args.workers, seed=params.seed)
        gen_s = time.perf_counter() - t0
        gwords = list(gm.wv.index_to_key)
        gvec = torch.tensor(np.asarray(gm.wv.vectors))
        gindex = {w: i for i, w in enumerate(gwords)}
        gensim_res = {"seconds": gen_s, "words_per_second": n_words * cfg.epochs / gen_s,
                      "vocab_size": len(gwords), "workers": args.workers,
                      "pairs": pair_check(gvec, gwords, gindex, pairs, cfg.neighbours),
                      "neighbours": {q: " ".join(w for w, _ in nearest(gvec, gwords, gindex, q, cfg.neighbours))
                                     for q in cfg.queries}}
        import gensim

        results[lang] = {"corpus_words": n_words, "config": {k: v for k, v in vars(cfg).items()},
                         "torch_threads": torch.get_num_threads(), "ours": ours,
                         "gensim": {"version": gensim.__version__, **gensim_res},
                         "speed_ratio_gensim_over_ours": gen_s and ours_s / gen_s}
        print(f"{lang}: ours {ours['words_per_second']:.0f} words/s score {ours['pairs']['score']:.3f} | "
              f"gensim {gensim_res['words_per_second']:.0f} words/s score {gensim_res['pairs']['score']:.3f}",
              file=sys.stderr)

    from reprozoo.bench import write_result

    write_result("word2vec", results)


if __name__ == "__main__":
    main()
