"""The registry of prepare steps: one module per data set, turning data/raw/<name>/ into
data/processed/<name>/ with a documented file contract (see each module's docstring).

A prepare module has ``Config`` (a frozen dataclass = the keys of ``prepare.<name>`` in
params.yaml) and ``prepare(cfg, raw_dir, out_dir, seed) -> dict`` (returns stats that
are printed and written to ``out_dir/stats.json``). Outputs must be deterministic:
splits come from seeded RNGs or content hashes, never from file order.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from reprozoo.errors import ConfigError

PREPARERS: dict[str, str] = {
    "mnist": "reprozoo.data.mnist",
    "tatoeba": "reprozoo.data.tatoeba",
    "movielens": "reprozoo.data.movielens",
    "sms-spam": "reprozoo.data.sms_spam",
    "groceries": "reprozoo.data.groceries",
}


def get(name: str) -> ModuleType:
    if name not in PREPARERS:
        raise ConfigError(f"unknown data set {name!r} to prepare; known: {', '.join(PREPARERS)}")
    return importlib.import_module(PREPARERS[name])
