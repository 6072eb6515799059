"""benchmarks/gpu.py's schedules: the full profile of the real params.yaml, with WINDOW's
changes only where they lower a value (or switch a CPU-only part off), and the tiny mode's
smoke schedules layered over the full profile."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "gpu.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_caps_lower_but_never_raise_a_full_schedule(gpu, raw, monkeypatch):
    full_steps = raw["charrnn"]["full"]["steps"]
    monkeypatch.setattr(gpu, "WINDOW", {"charrnn": {"steps": full_steps * 10},
                                        "seq2seq": {"epochs": 1},
                                        "rbm": {"compare_sklearn": False}})
    params, changes = gpu.bench_params(raw, ["charrnn", "seq2seq", "rbm"], "cpu", tiny=False,
                                       uncapped=False, epoch_cap=0)
    assert params["charrnn"]["full"]["steps"] == full_steps
    assert changes["charrnn"] == {}
    assert params["seq2seq"]["full"]["epochs"] == 1
    assert changes["seq2seq"] == {"epochs": [raw["seq2seq"]["full"]["epochs"], 1]}
    assert changes["rbm"] == {"compare_sklearn": [True, False]}
    assert params["profile"] == "full" and params["tracking"] == {"enabled": False}


def test_uncapped_runs_the_full_profile_as_written(gpu, raw):
    params, changes = gpu.bench_params(raw, ["rbm", "seq2seq"], "cpu", tiny=False, uncapped=True, epoch_cap=0)
    assert changes == {"rbm": {}, "seq2seq": {}}
    assert params["rbm"]["full"] == raw["rbm"]["full"]


def test_tiny_layers_the_smoke_schedule_over_the_full_profile(gpu, raw):
    params, changes = gpu.bench_params(raw, ["rbm"], "cpu", tiny=True, uncapped=False, epoch_cap=0)
    full = params["rbm"]["full"]
    assert full["epochs"] == raw["rbm"]["smoke"]["epochs"] and full["persistent"] is True
    assert changes["rbm"]["epochs"] == [raw["rbm"]["full"]["epochs"], raw["rbm"]["smoke"]["epochs"]]
