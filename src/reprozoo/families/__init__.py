"""The registry of model families: params.yaml's `families:` is the one declaration.

A *family* is one trained model (``slp``, ``gan_dcgan``); its *kind* is the package
``reprozoo.families.<kind>/`` holding its whole code (``config.py`` the params section's
``Config``, ``model.py`` the pure model, ``train.py`` / ``evaluate.py`` the steps). Several
families may share a kind (``slp``, ``mlp``, ``cnn`` are all ``mnist_clf``). A family is
declared once, as its entry in params.yaml::

    families:
      gan_dcgan: {kind: gan, data: data/processed/mnist, needs: models/cnn}

The registry loads a kind as `Kind` (its ``Config`` class and its ``train`` / ``evaluate``
steps, from ``config.py``, ``train.py`` and ``evaluate.py``).

``data`` is the input it reads (a prepared folder or a static file; omitted when none),
``needs`` one more input (another family's model folder, a static file; optional). The
family's parameters are the params.yaml section named after it. Everything else (its code,
its config class, its outputs) follows from the kind and the name; nothing here knows DVC.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from reprozoo.config import build, param
from reprozoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    """One entry of `families:` in params.yaml."""

    kind: str = param("", doc="the family's code: the package reprozoo/families/<kind>/")
    data: str = param("", doc="the input it reads (prepared folder or static file); '' = none")
    needs: str = param("", doc="one more input (another family's model folder, a static file)")



def kinds() -> list[str]:
    """The family kinds: one sub-package of reprozoo.families each."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.ispkg)


@dataclasses.dataclass(frozen=True)
class Kind:
    """A family kind's surface: its config class and its two steps."""

    name: str
    Config: type
    train: Callable[..., dict[str, Any]]
    evaluate: Callable[..., dict[str, Any]]


def kind_module(kind: str) -> ModuleType:
    """The package of `kind`."""
    if kind not in kinds():
        raise ConfigError(f"unknown family kind {kind!r}; known kinds: {', '.join(kinds())}")
    return importlib.import_module(f"{__name__}.{kind}")


def load(kind: str) -> Kind:
    """`kind`'s Config (config.py), train (train.py) and evaluate (evaluate.py)."""
    pkg = kind_module(kind).__name__
    return Kind(name=kind, Config=importlib.import_module(f"{pkg}.config").Config,
                train=importlib.import_module(f"{pkg}.train").train,
                evaluate=importlib.import_module(f"{pkg}.evaluate").evaluate)


def entries(raw: Mapping[str, Any], where: str = "params.yaml") -> dict[str, FamilyEntry]:
    """Every `families:` entry of a parsed params.yaml, validated."""
    fams = raw.get("families")
    if not isinstance(fams, Mapping) or not fams:
        raise ConfigError(f"{where}: `families:` is missing or empty")
    out = {}
    for name, value in fams.items():
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: families.{name} must be a mapping like "
                              "{kind: mnist_clf, data: data/processed/mnist}")
        out[name] = build(FamilyEntry, value, where=f"{where}: families.{name}")
        if out[name].kind not in kinds():
            raise ConfigError(f"{where}: families.{name}.kind = {out[name].kind!r}: unknown kind; "
                              f"known kinds: {', '.join(kinds())}")
    return out


def entry(raw: Mapping[str, Any], name: str, where: str = "params.yaml") -> FamilyEntry:
    """The entry of family `name`, with a clear error naming the known families."""
    fams = entries(raw, where)
    if name not in fams:
        raise ConfigError(f"{where}: unknown family {name!r}; families: {', '.join(sorted(fams))}")
    return fams[name]
