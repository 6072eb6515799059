"""The registry of model families.

Each family is a module with:

- ``Config``: a frozen dataclass; its field names are the keys of the family's
  params.yaml section (ranges declared with ``reprozoo.config.param``);
- ``train(cfg, ctx) -> dict``: fits the model, logs per-step metrics with
  ``ctx.log_step``, saves figures under ``ctx.report_dir`` and the model to
  ``ctx.model_path`` (via ``reprozoo.checkpoint.save``), returns final training metrics;
- ``evaluate(cfg, ctx) -> dict``: loads ``ctx.model_path``, scores it on the held-out
  data, saves figures under ``ctx.report_dir``, returns the metrics (written to
  reports/metrics/<name>.json and MLflow by the runner).

Adding a family: a module here, an entry below, a section and a ``families`` entry in
params.yaml. The DVC graph picks it up through ``foreach``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from reprozoo.errors import ConfigError

FAMILIES: dict[str, str] = {
    # MNIST classifiers (issue 2, 3): softmax regression, MLP, CNN, image-initialized MLP
    "slp": "reprozoo.families.mnist_clf",
    "mlp": "reprozoo.families.mnist_clf",
    "cnn": "reprozoo.families.mnist_clf",
    "mlp_imginit": "reprozoo.families.mnist_clf",
    # from-scratch and toy networks (issue 3)
    "numpy_net": "reprozoo.families.numpy_net",
    "multnet": "reprozoo.families.multnet",
    # generative models on MNIST (issue 3)
    "rbm": "reprozoo.families.rbm",
    "vae": "reprozoo.families.vae",
    "gan_mlp": "reprozoo.families.gan",
    "gan_dcgan": "reprozoo.families.gan",
    # Japanese–English (issue 4)
    "seq2seq": "reprozoo.families.seq2seq",
    "seq2seq_seed": "reprozoo.families.seq2seq",
    "charrnn": "reprozoo.families.charrnn",
    "word2vec_ja": "reprozoo.families.word2vec",
    "word2vec_en": "reprozoo.families.word2vec",
    # ratings, Bayes, rules, RL (issue 5)
    "mf": "reprozoo.families.mf",
    "nb_golf": "reprozoo.families.naive_bayes",
    "nb_spam": "reprozoo.families.naive_bayes",
    "rules": "reprozoo.families.assoc_rules",
    "ql_frozenlake4": "reprozoo.families.qlearning",
    "ql_frozenlake8": "reprozoo.families.qlearning",
    "ql_taxi": "reprozoo.families.qlearning",
}


def names() -> list[str]:
    return sorted(FAMILIES)


def get(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise ConfigError(f"unknown family {name!r}; known families: {', '.join(names())}")
    return importlib.import_module(FAMILIES[name])
