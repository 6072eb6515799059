"""benchmarks/graph.py --collect: what a full-profile build keeps in reports/full/ (only the
families it evaluated, merged with earlier runs, each with the run that made it) and the
targets report it writes (met / missed against the profile's targets)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "graph.py"


@pytest.fixture(scope="module")
def graph():
    spec = importlib.util.spec_from_file_location("bench_graph", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def fake_build(root: Path, metrics: dict[str, dict]) -> Path:
    """A built copy: every family's metrics file (as the tracked tree has them), and the
    evaluation and history of each."""
    for fam, m in metrics.items():
        (root / "reports/metrics").mkdir(parents=True, exist_ok=True)
        (root / "reports/metrics" / f"{fam}.json").write_text(json.dumps(m))
        (root / "reports/eval" / fam).mkdir(parents=True)
        (root / "reports/eval" / fam / "details.json").write_text(json.dumps({"n": 1, **m}))
        (root / "reports/train" / fam).mkdir(parents=True)
        (root / "reports/train" / fam / "history.csv").write_text("step,train_loss\n1,0.5\n")
    return root


def report(stages: dict[str, float], command: str) -> dict:
    return {"command": command, "commit": "abc1234", "profile": "full", "cores": 2, "device": "cpu",
            "torch": "2.x", "load_average_start": [0.5, 0.5, 0.5], "load_average_end": [2, 2, 2],
            "exit_code": 0, "total_s": sum(stages.values()), "stages_run": len(stages),
            "sum_of_stages_s": sum(stages.values()), "fixed_cost_estimate_s": 1.0, "stage_s": stages}


def test_collect_keeps_only_what_ran_and_merges_runs(graph, tmp_path):
    dest = tmp_path / "full"
    stale = {"slp": {"test/accuracy": 0.90}, "cnn": {"test/accuracy": 0.9871}}  # default-profile files
    first = fake_build(tmp_path / "a", {**stale, "slp": {"test/accuracy": 0.93}})
    kept = graph.collect(first, dest, report({"train@slp": 20.0, "evaluate@slp": 10.0, "prepare@mnist": 5.0,
                                              "report": 3.0},  # a stage without a family (whole graph)
                                             "python benchmarks/graph.py --profile full evaluate@slp"))
    assert kept == ["slp"]
    assert sorted(p.name for p in (dest / "metrics").iterdir()) == ["slp.json"]  # not the stale cnn
    assert json.loads((dest / "slp/run.json").read_text())["stage_s"] == {"train@slp": 20.0, "evaluate@slp": 10.0}
    second = fake_build(tmp_path / "b", {**stale, "cnn": {"test/accuracy": 0.9951}})
    graph.collect(second, dest, report({"train@cnn": 900.0, "evaluate@cnn": 20.0},
                                       "python benchmarks/graph.py --profile full evaluate@cnn"))
    assert sorted(p.name for p in (dest / "metrics").iterdir()) == ["cnn.json", "slp.json"]
    md = (dest / "README.md").read_text()
    assert "| cnn | train 900 s + evaluate 20 s | `abc1234` | 0.5 | `python benchmarks/graph.py --profile full evaluate@cnn` |" in md
    assert "| slp | test/accuracy | 0.93 | >= 0.925 | met |" in md
    assert "| cnn | test/accuracy | 0.9951 | >= 0.995 | met |" in md
    assert "0.9871" not in md and "# reprozoo report" not in md
    assert (dest / "cnn/details.json").is_file() and (dest / "cnn/history.csv").is_file()


def test_collect_marks_a_missed_target(graph, tmp_path):
    built = fake_build(tmp_path / "a", {"vae": {"test/loss": 105.8}})
    graph.collect(built, tmp_path / "full", report({"train@vae": 110.0, "evaluate@vae": 201.0}, "cmd"))
    assert "| vae | test/loss | 105.8 | <= 100.0 | **missed** |" in (tmp_path / "full/README.md").read_text()
