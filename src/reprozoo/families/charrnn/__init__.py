"""charrnn: a character-level language model (GRU or Elman RNN) on the English side of
Tatoeba.

Source: seed article 004, section "RNN and BPTT": the article's tanh RNN predicting the
next letter of "apple", kept in NumPy with its hand-written BPTT in rnn_numpy.py (tested
against autograd, used by the tests only); here the same task at corpus scale in torch:
characters embedded, one recurrent layer, softmax over the character set, truncated BPTT
over `seq_len` characters, Adam, gradient clipping.

Data: the `en_raw` column (NFKC-normalized sentences) of data/processed/tatoeba/{train,
valid,test}.tsv (`dvc repro prepare@tatoeba`), lower-cased when `lowercase`, one sentence
a line ("\\n" ends each, so the model learns where sentences stop). Tatoeba repeats
English sentences (one per Japanese translation) and the split is by the Japanese side,
so each split's English sentences are de-duplicated and valid/test keep only sentences
absent from train: the test cross-entropy is measured on unseen sentences. Characters not
seen in training map to id 0 (`<unk>`).

Evaluation: test cross-entropy (nats and bits per character), greedy and sampled
completions of `prefixes` (reports/eval/charrnn/samples.md).

Files: config.py, model.py (the network, streamed scoring, completion), data.py (the
sentences), train.py, evaluate.py, rnn_numpy.py (the article's NumPy RNN).

Results: reports/README.md, row charrnn (from `dvc repro`).
"""

from .config import Config

__all__ = ["Config"]
