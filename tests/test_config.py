"""params.yaml validation: every bad value is an error naming the key, the value and the file."""

import dataclasses
from typing import Literal

import pytest

from reprozoo.config import build, load_params, param
from reprozoo.errors import ConfigError
from reprozoo.families.mnist_clf import Config as ClfConfig


@dataclasses.dataclass(frozen=True)
class Demo:
    lr: float = param(0.1, gt=0.0)
    epochs: int = param(3, gt=0)
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (1, "a")
    flag: bool = False


def write(tmp_path, text, families="{sec: {}}"):
    """A params file; `sec` (the section under test) is declared as a family."""
    p = tmp_path / "params.yaml"
    p.write_text(text + f"families: {families}\n", encoding="utf-8")
    return p


def test_profile_override_applies_only_to_its_profile(tmp_path):
    text = "profile: {p}\nsec:\n  lr: 0.1\n  epochs: 10\n  smoke: {{epochs: 1}}\n  full: {{lr: 0.5}}\n"
    for profile, want in (("smoke", Demo(0.1, 1)), ("default", Demo(0.1, 10)), ("full", Demo(0.5, 10))):
        params = load_params(write(tmp_path, text.format(p=profile)))
        assert params.build(Demo, "sec") == want


@pytest.mark.parametrize("section, needle", [
    ("{lr: -0.5}", "sec.lr = -0.5: must be > 0"),
    ("{lr: fast}", "sec.lr = 'fast': must be a number"),
    ("{epochs: 2.5}", "sec.epochs = 2.5: must be an integer"),
    ("{mode: c}", "sec.mode = 'c': choose one of 'a', 'b'"),
    ("{sizes: [1, x]}", "sec.sizes[1] = 'x': must be an integer"),
    ("{flag: 1}", "sec.flag = 1: must be true or false"),
    ("{pair: [1, 2]}", "sec.pair[1] = 2: must be a string"),
    ("{pair: [1]}", "sec.pair = [1]: must have 2 items"),
    ("{lrr: 0.1}", "unknown key(s) lrr"),
    ("{lr: 0.1, smoke: {nope: 1}}", "sec.smoke.nope: overrides a key that has no default"),
])
def test_bad_values_name_key_value_and_file(tmp_path, section, needle):
    path = write(tmp_path, f"profile: smoke\nsec: {section}\n")
    with pytest.raises(ConfigError) as exc:
        load_params(path).build(Demo, "sec")
    assert needle in str(exc.value)
    assert str(path) in str(exc.value)


def test_fixed_length_tuple(tmp_path):
    params = load_params(write(tmp_path, "profile: smoke\nsec: {pair: [3, b]}\n"))
    assert params.build(Demo, "sec").pair == (3, "b")


def test_unknown_profile_and_device(tmp_path):
    with pytest.raises(ConfigError, match="profile = 'huge': unknown profile; choose one of smoke, default, full"):
        load_params(write(tmp_path, "profile: huge\n"))
    with pytest.raises(ConfigError, match="device = 'tpu'"):
        load_params(write(tmp_path, "device: tpu\n"))


def test_missing_section_lists_what_exists(tmp_path):
    params = load_params(write(tmp_path, "profile: default\nalpha: {}\n", families="{alpha: {}}"))
    with pytest.raises(ConfigError, match="no section 'beta' \\(have: alpha, families, profile\\)"):
        params.section("beta")


@pytest.mark.parametrize("text, needle", [
    ("profle: smoke\n", "unknown top-level key 'profle' (did you mean 'profile'?)"),
    ("sec: {}\nsce: {}\n", "unknown top-level key 'sce' (did you mean 'sec'?)"),
])
def test_misspelled_top_level_key_is_an_error(tmp_path, text, needle):
    with pytest.raises(ConfigError) as exc:
        load_params(write(tmp_path, text))
    assert needle in str(exc.value)


def test_misspelled_key_suggests_the_right_one(tmp_path):
    params = load_params(write(tmp_path, "sec: {epcohs: 3}\n"))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) epcohs \(did you mean 'epochs'\?\)"):
        params.build(Demo, "sec")


@pytest.mark.parametrize("value, want", [("1e-3", 0.001), ("1e6", 1e6), ("1.0e6", 1e6), ("2.5E-2", 0.025)])
def test_scientific_notation_is_a_number(tmp_path, value, want):
    """PyYAML (YAML 1.1) reads 1e-3 as a string; DVC (YAML 1.2) as a float: both must work."""
    params = load_params(write(tmp_path, f"sec: {{lr: {value}, epochs: 1e2}}\n"))
    cfg = params.build(Demo, "sec")
    assert cfg.lr == want and cfg.epochs == 100 and isinstance(cfg.epochs, int)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_rejected(tmp_path, value):
    params = load_params(write(tmp_path, f"sec: {{lr: {value}}}\n"))
    with pytest.raises(ConfigError, match="sec.lr = .*: must be a finite number"):
        params.build(Demo, "sec")


def test_configs_are_frozen():
    cfg = build(ClfConfig, {"arch": "slp"}, where="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]


def test_repository_params_file_is_valid():
    """Every family and prepare section in the real params.yaml builds, in every profile."""
    from pathlib import Path

    from reprozoo import families
    from reprozoo.data import prepare

    root = Path(__file__).resolve().parents[1]
    base = load_params(root / "params.yaml")
    for profile in ("smoke", "default", "full"):
        params = dataclasses.replace(base, profile=profile)
        for name, entry in families.entries(base.raw).items():
            params.build(families.load(entry.kind).Config, name)
        for ds in base.raw["prepare"]:
            params.build(prepare.get(ds).Config, f"prepare.{ds}")
