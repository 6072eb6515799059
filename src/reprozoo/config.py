"""params.yaml → frozen dataclasses, with strict validation.

`params.yaml` is the single source of configuration. Each section maps onto a frozen
dataclass whose field names are exactly the keys. A section may carry per-profile
overrides beside its defaults::

    slp:
      epochs: 30          # default profile
      smoke: {epochs: 2}  # overrides when profile == smoke
      full: {epochs: 60}  # overrides when profile == full

Unknown keys, wrong types and out-of-range values raise `ConfigError` naming the key,
the value and the file. Range limits are declared next to the field with `param(...)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from reprozoo.errors import ConfigError

PROFILES = ("smoke", "default", "full")
DEVICES = ("auto", "cpu", "cuda")
# Top-level keys besides one section per family (named in `families:`).
TOP_LEVEL = ("profile", "seed", "device", "tracking", "fetch", "prepare", "families")
# A number as YAML 1.1 (PyYAML) leaves it a string: 1e-3, 1E6, +2.5e+3, .5e-2
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _did_you_mean(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
T = TypeVar("T")


def param(default: Any, *, gt: float | None = None, ge: float | None = None,
          lt: float | None = None, le: float | None = None, doc: str = "") -> Any:
    """A dataclass field with a declared range (checked by `build`) and a short doc."""
    meta = {"gt": gt, "ge": ge, "lt": lt, "le": le, "doc": doc}
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple for sequence defaults (configs are frozen)")
    return dataclasses.field(default=default, metadata=meta)


# ---------------------------------------------------------------- top level
@dataclasses.dataclass(frozen=True)
class Params:
    """The parsed params.yaml: top-level settings plus raw sections."""

    path: Path
    profile: str
    seed: int
    device: str
    raw: Mapping[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        """The section `name` (dotted for nested: `prepare.mnist`) with the active
        profile's overrides applied."""
        node: Any = self.raw
        for i, part in enumerate(name.split(".")):
            if not isinstance(node, Mapping) or part not in node:
                have = ", ".join(sorted(node)) if isinstance(node, Mapping) else "none"
                raise ConfigError(f"{self.path}: no section '{name}' (have: {have})")
            node = node[part]
        return resolve_profile(node, self.profile, where=f"{self.path}: {name}")

    def build(self, cls: type[T], name: str) -> T:
        return build(cls, self.section(name), where=f"{self.path}: {name}")


def load_params(path: str | Path = "params.yaml") -> Params:
    import yaml  # local import: nothing heavy at import time

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found (run from the repository root)")
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(raw).__name__}")
    fams = raw.get("families") if isinstance(raw.get("families"), dict) else {}
    for key in raw:
        if key not in TOP_LEVEL and key not in fams:
            raise ConfigError(f"{path}: unknown top-level key {key!r}{_did_you_mean(str(key), [*TOP_LEVEL, *fams])}; "
                              f"allowed: {', '.join(TOP_LEVEL)} and one section per family of `families:`")
    profile = raw.get("profile", "default")
    if profile not in PROFILES:
        raise ConfigError(f"{path}: profile = {profile!r}: unknown profile; choose one of {', '.join(PROFILES)}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{path}: seed = {seed!r}: must be a non-negative integer")
    device = raw.get("device", "auto")
    if device not in DEVICES:
        raise ConfigError(f"{path}: device = {device!r}: choose one of {', '.join(DEVICES)}")
    return Params(path=path, profile=profile, seed=seed, device=device, raw=raw)


def resolve_profile(section: Any, profile: str, where: str) -> dict[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: must be a mapping, got {section!r}")
    out = {k: v for k, v in section.items() if k not in PROFILES}
    override = section.get(profile) or {}
    if not isinstance(override, Mapping):
        raise ConfigError(f"{where}.{profile}: profile override must be a mapping, got {override!r}")
    for k in override:
        if k not in out:
            raise ConfigError(f"{where}.{profile}.{k}: overrides a key that has no default in {where}"
                              f"{_did_you_mean(str(k), out)}")
    out.update(override)
    return out


# ---------------------------------------------------------------- dataclasses
def build(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Construct the frozen dataclass `cls` from `values`, validating every key."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        hint = _did_you_mean(str(unknown[0]), fields)
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}{hint}; "
                          f"allowed: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        key = f"{where}.{name}"
        kwargs[name] = _coerce(value, hints[name], key)
        _check_range(kwargs[name], fields[name].metadata, key)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{key} = {value!r}: choose one of {', '.join(map(repr, choices))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key} = {value!r}: wrong type")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} = {value!r}: must be a list")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{key} = {value!r}: must have {len(args)} items")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            as_float = float(value)  # 1e6 (a string to YAML 1.1) is the integer 1000000
            if math.isfinite(as_float) and as_float.is_integer():
                return int(as_float)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {value!r}: must be an integer")
        return value
    if tp is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = float(value)  # 1e-3, 1.0e6: numbers, though YAML 1.1 reads them as strings
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {value!r}: must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value}: must be a finite number")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: must be a string")
        return value
    raise ConfigError(f"{key}: unsupported field type {tp!r}")  # a bug in the dataclass


def _check_range(value: Any, meta: Mapping[str, Any], key: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    checks = (("gt", lambda v, b: v > b, ">"), ("ge", lambda v, b: v >= b, ">="),
              ("lt", lambda v, b: v < b, "<"), ("le", lambda v, b: v <= b, "<="))
    for name, ok, sym in checks:
        bound = meta.get(name)
        if bound is not None and not ok(value, bound):
            raise ConfigError(f"{key} = {value!r}: must be {sym} {bound}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a config dataclass (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
