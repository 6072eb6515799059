"""The Markdown summary reports/README.md: every family's metrics, targets and figures.

Pure function of the files under reports/ (no timings, no dates), so it is reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reprozoo.tracking import flatten

# Issue targets: family -> (metric key in reports/metrics/<family>.json, op, value, profiles).
TARGETS: dict[str, list[tuple[str, str, float, tuple[str, ...]]]] = {
    "slp": [("test_accuracy", ">=", 0.88, ("default",)), ("test_accuracy", ">=", 0.925, ("full",))],
    "mlp": [("test_accuracy", ">=", 0.93, ("default",)), ("test_accuracy", ">=", 0.983, ("full",))],
    "cnn": [("test_accuracy", ">=", 0.96, ("default",)), ("test_accuracy", ">=", 0.993, ("full",))],
    "numpy_net": [("test_acc", ">=", 0.94, ("default",)), ("test_acc", ">=", 0.975, ("full",))],
    "multnet": [("reliable.converged", ">=", 19, ("default", "full")),
                ("reliable.median_rel_err", "<=", 0.01, ("default", "full")),
                ("reliable.p90_rel_err", "<=", 0.05, ("default", "full"))],
    "gan_mlp": [("coverage.min_class_fraction", ">=", 0.05, ("default", "full"))],
    "gan_dcgan": [("coverage.min_class_fraction", ">=", 0.05, ("default", "full"))],
    "vae": [("test_loss", "<=", 100.0, ("full",))],
    "rbm": [("test_log_likelihood_ais", ">=", -100.0, ("full",))],
    "mf": [("cv.rmse_mean", "<=", 0.905, ("default", "full"))],
    "nb_spam": [("cv.improved.accuracy", ">=", 0.99, ("default", "full")),
                ("cv.improved.spam_f1", ">=", 0.96, ("default", "full"))],
    "seq2seq": [("bleu", ">=", 25.0, ("full",))],
    "ql_frozenlake4": [("mean_return", ">=", 0.73, ("default", "full"))],
    "ql_frozenlake8": [("mean_return", ">=", 0.88, ("default", "full"))],
    # 8.3 is above the exact optimum (7.93, dynamic programming) of gymnasium's Taxi.
    "ql_taxi": [("mean_return", ">=", 8.3, ("default", "full"))],
}

# Targets that compare two families: (family, metric, op, other family, its metric).
RELATIVE: list[tuple[str, str, str, str, str]] = [
    ("gan_dcgan", "fid_cnn", "<=", "gan_mlp", "fid_cnn"),  # issue 3 §6: DCGAN FID below the MLP GAN's
]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _check(value: Any, op: str, bound: float) -> bool:
    return value >= bound if op == ">=" else value <= bound


def build(reports: Path, profile: str) -> str:
    lines = ["# reprozoo report", "",
             f"Profile: **{profile}**. Built by the `report` stage from `reports/metrics/*.json` "
             "and the figures under `reports/train/` and `reports/eval/`; "
             "timings live in MLflow and `reports/bench/`.", ""]
    values = {f.stem: flatten(json.loads(f.read_text(encoding="utf-8")))
              for f in sorted((reports / "metrics").glob("*.json"))}  # family → flat metrics
    rows = []
    for fam, flat in values.items():
        for key, op, bound, profiles in TARGETS.get(fam, []):
            if profile in profiles:
                v = flat.get(key)
                status = "n/a" if v is None else ("met" if _check(v, op, bound) else "**missed**")
                opt = flat.get("optimal_return")  # exact optimum where a family computes one
                if status == "**missed**" and opt is not None and not _check(opt, op, bound):
                    status = f"unreachable: the exact optimum is {_fmt(opt)}"
                rows.append(f"| {fam} | {key} | {_fmt(v)} | {op} {bound} | {status} |")
    for fam, key, op, other, okey in RELATIVE:
        v, w = values.get(fam, {}).get(key), values.get(other, {}).get(okey)
        if v is not None and w is not None:
            rows.append(f"| {fam} | {key} | {_fmt(v)} | {op} {other} ({_fmt(w)}) | "
                        f"{'met' if _check(v, op, w) else '**missed**'} |")
    if rows:
        lines += ["## Targets for this profile", "", "| family | metric | value | target | status |",
                  "|---|---|---|---|---|", *rows, ""]
    figures = sorted((reports / "figures").glob("*.png"))
    if figures:
        lines += ["## Comparisons", ""]
        lines += [f"![{p.stem}]({p.relative_to(reports).as_posix()})" for p in figures]
        lines.append("")
    lines += ["## Metrics", ""]
    for fam, flat in values.items():
        lines += [f"### {fam}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in flat.items() if not isinstance(v, (list, dict))]
        figs = sorted(p for kind in ("train", "eval") for p in (reports / kind / fam).glob("*.png"))
        if figs:
            lines.append("")
            lines += [f"![{p.stem}]({p.relative_to(reports).as_posix()})" for p in figs]
        tables = sorted(p for kind in ("train", "eval") for p in (reports / kind / fam).glob("*.md"))
        for t in tables:
            lines += ["", f"[{t.stem}]({t.relative_to(reports).as_posix()})"]
        lines.append("")
    return "\n".join(lines)
