"""benchmarks/time_to_acc.py: the reference network is pytorch/examples' and the stop rule
stops where it should (fake steps, fake evaluations and a fake clock; no training)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "time_to_acc.py"


@pytest.fixture(scope="module")
def tta():
    spec = importlib.util.spec_from_file_location("time_to_acc", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def fake_steps(n: int | None, per_epoch: int = 10, batch: int = 64):
    """(epoch, images) after each of n fake steps (None: forever)."""
    for k in itertools.count() if n is None else range(n):
        yield k // per_epoch + 1, batch


class FakeClock:
    """1 s a call: deterministic elapsed times."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_reference_net_is_pytorch_examples(tta):
    net = tta.reference_net()
    assert sum(p.numel() for p in net.parameters()) == 1_199_882 == tta.REFERENCE_PARAMS
    out = net(torch.zeros(2, 1, 28, 28))
    assert out.shape == (2, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(2))  # log_softmax output


def test_fast_cnn_shapes(tta):
    for cl in (False, True):
        net = tta.fast_cnn(8)
        x = torch.zeros(3, 1, 28, 28)
        if cl:
            net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        assert net(x).shape == (3, 10)


def test_stops_at_first_evaluation_at_or_above_target(tta):
    accs = iter([0.95, 0.985, 0.9899, 0.990, 0.995])
    calls = []

    def evaluate():
        calls.append(1)
        return next(accs)

    out = tta.race(fake_steps(None), evaluate, eval_every=5, target=0.99, cap_s=1e9, clock=FakeClock())
    assert out["reached"] and out["stop"] == "target reached"
    assert len(calls) == 4 and out["steps"] == 20 and out["images"] == 20 * 64
    assert out["epoch"] == 2
    assert [h["test_acc"] for h in out["evaluations"]] == [0.95, 0.985, 0.9899, 0.990]
    assert out["best_acc"] == 0.990
    assert 0 < out["eval_s"] < out["time_s"] and out["train_s"] == out["time_s"] - out["eval_s"]


def test_schedule_end_is_evaluated_and_reported_not_reached(tta):
    accs = iter([0.97, 0.98, 0.985])
    out = tta.race(fake_steps(12), lambda: next(accs), eval_every=5, target=0.99, cap_s=1e9, clock=FakeClock())
    assert not out["reached"] and out["stop"] == "schedule ended"
    assert out["steps"] == 12 and len(out["evaluations"]) == 3  # after steps 5, 10 and the last (12)
    assert out["best_acc"] == 0.985


def test_cap_stops_a_run_that_never_reaches(tta):
    out = tta.race(fake_steps(None), lambda: 0.5, eval_every=3, target=0.99, cap_s=50, clock=FakeClock())
    assert not out["reached"] and out["stop"].startswith("not reached in cap")
    assert 50 < out["time_s"] < 60 and out["best_acc"] == 0.5


def test_batches_reshuffle_and_cover_each_epoch(tta):
    it = tta.batches(10, 4, seed=0)
    first = [next(it) for _ in range(3)]   # sizes 4, 4, 2: the last batch partial
    second = [next(it) for _ in range(3)]
    assert [e for e, _ in first + second] == [1, 1, 1, 2, 2, 2]
    assert [len(i) for _, i in first] == [4, 4, 2]
    e1, e2 = torch.cat([i for _, i in first]), torch.cat([i for _, i in second])
    assert sorted(e1.tolist()) == list(range(10)) == sorted(e2.tolist())
    assert not torch.equal(e1, e2)


def side(reached: bool, time_s: float, **kw) -> dict:
    return {"reached": reached, "time_s": time_s, "train_s": time_s - 1, "cpu_s": time_s * 1.5,
            "images_per_s": 60000 / time_s} | kw


def test_summary_ratio_and_capped_reference_lower_bound(tta):
    both = tta.summarize({"reference": side(True, 300.0), "ours": side(True, 50.0)}, 0.99, 0)
    assert both["speed_ratio_reference_over_ours"] == 6.0 == both["speed_ratio_at_least"]
    assert both["goal_ratio_ge_5x"] and both["goal_ours_le_60s"]
    capped = tta.summarize({"reference": side(False, 900.0), "ours": side(True, 150.0),
                            "ours_other_seeds": [{"reached": False}]}, 0.99, 0)
    assert capped["speed_ratio_reference_over_ours"] is None and capped["speed_ratio_at_least"] == 6.0
    assert capped["goal_ratio_ge_5x"] and not capped["goal_ours_le_60s"]
    assert not capped["all_ours_seeds_reached"]
    slow = tta.summarize({"reference": side(True, 200.0), "ours": side(True, 50.0)}, 0.99, 0)
    assert slow["speed_ratio_reference_over_ours"] == 4.0 and not slow["goal_ratio_ge_5x"]
    failed = tta.summarize({"reference": side(False, 900.0), "ours": side(False, 900.0)}, 0.99, 0)
    assert failed["speed_ratio_at_least"] is None and not failed["goal_ratio_ge_5x"]
