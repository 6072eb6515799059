"""word2vec: skip-gram with negative sampling (SGNS) and frequent-word subsampling, batched
in torch, on the tokenized Japanese (`word2vec_ja`) or English (`word2vec_en`) side of
Tatoeba.

Source: seed article 004, section "word2vec": a full-softmax skip-gram in NumPy on one
sentence, kept faithfully in word2vec_numpy.py (used by the tests only); scaled up as in
Mikolov et al. 2013, "Distributed Representations of Words and Phrases and their
Compositionality": for a centre word c and a context word o within a window drawn from
1..`window`,

    loss = -log σ(v_c·u_o) - Σ_{k=1..K} log σ(-v_c·u_k),   u_k ~ unigram(w)^0.75

with plain SGD on the touched rows (the gradient is written out, as in word2vec.c, not
taken by autograd; tests check it against autograd), the learning rate decaying linearly
to lr·1e-4, and each occurrence of word w kept with probability
``min(1, (sqrt(f/t) + 1) · t/f)``, f = count(w)/total (word2vec.c's and gensim's form of
the paper's 1 - sqrt(t/f)).

Data: the prepare stage's data/processed/tatoeba/{train,test}.npz (`<lang>_ids`,
`<lang>_offsets`) and vocab_<lang>.json (`dvc repro prepare@tatoeba`); `<unk>` and words
below `min_count` are dropped. The pair list is the family's extra input (`needs` in
params.yaml's `families` entry, `ctx.needs`): data/static/w2v_pairs_<lang>.tsv, one
``word<TAB>related<TAB>unrelated`` a line.

Evaluation: nearest neighbours (cosine, input vectors) of `queries`; the pair check (score
= the fraction with sim(related) > sim(unrelated), the mean of both similarities, and how
often the related word is among the `neighbours` nearest); the held-out SGNS loss on the
test split; a 2-d PCA of the `plot_words` most frequent words.

Files: config.py, model.py (SGNS maths: pairs, subsampling, the noise sampler, the step,
the loss, cosine neighbours), data.py (corpus, vocabulary, pair list), train.py, evaluate.py,
word2vec_numpy.py (the article's NumPy model).

Results: reports/README.md, rows word2vec_en and word2vec_ja (from `dvc repro`); against
gensim: `python benchmarks/word2vec.py` (reports/bench/word2vec.json): on 1 CPU thread
each (2-core shared machine, best of 3 runs) ours trains at 0.61x (en) and 0.60x (ja)
gensim 4.4.0's words/s; pair scores en 0.950 vs 0.950, ja 0.949 vs 0.974 at seed 0 (one
pair of 39; means over seeds 0-2: 0.957 vs 0.966).

Speed comes from doing per epoch, not per pair or per batch, whatever numpy can do at
once (subsampling, window pairs, shuffle, noise words by an alias table), and from a
step of a few batched tensor ops with the gradient written out (model.sgns_step).
"""

from .config import Config

__all__ = ["Config"]
