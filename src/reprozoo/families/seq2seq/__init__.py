"""seq2seq: Japanese→English GRU encoder–decoder on Tatoeba (issue 4, seed article 004).

Two params sections use this family:

- ``seq2seq``: bi-GRU encoder over packed batches, GRU decoder with attention over the
  encoder states (default ``attention: additive``, Bahdanau's score v·tanh(W_q s + W_k h);
  Luong's ``general`` and ``dot`` also available), Adam, gradient clipping, teacher-forcing
  ratio, label smoothing, greedy and beam-search decoding.
- ``seq2seq_seed``: the seed article's model (the PyTorch "Translation with a
  sequence-to-sequence network" tutorial it follows): GRU encoder, GRU decoder with ReLU
  on embeddings, LogSoftmax output (= cross-entropy on logits), SGD, teacher forcing 0.5,
  no attention; trained batched instead of one pair per step.

Evaluation: sacreBLEU (13a tokenization, case-insensitive: the model writes lowercase)
and chrF of the Moses-detokenized output against the NFKC-normalized test references;
samples.md with the article's sentences; attention heat maps (attention.png).
`reprozoo translate` uses a trained model from the command line.

Files: config.py (the params section), model.py (the network, decoding), data.py (the
prepare stage's arrays and vocabularies), train.py, evaluate.py (scoring, loading a
checkpoint), translate.py (a loaded model + tokenizers; the CLI's helper).

Results: reports/README.md, rows seq2seq and seq2seq_seed (from `dvc repro`;
`reprozoo translate` and `python benchmarks/seq2seq.py` for speed).
"""

from .config import Config

__all__ = ["Config"]
