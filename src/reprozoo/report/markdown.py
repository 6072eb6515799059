"""The Markdown summary (reports/README.md in the graph): every family's metrics, targets and figures.

Pure function of the files under reports/ (no timings, no dates), so it is reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reprozoo.metrics import DETAILS, flatten
from reprozoo.report.targets import RELATIVE, TARGETS

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _check(value: Any, op: str, bound: float) -> bool:
    return value >= bound if op == ">=" else value <= bound


def build(reports: Path, profile: str) -> str:
    lines = ["# reprozoo report", "",
             f"Profile: **{profile}**. Built by the `report` stage from `reports/metrics/*.json` "
             "(each family's headline numbers, named by `reprozoo.vocabulary`), "
             "`reports/eval/<family>/details.json` (the whole evaluation) "
             "and small committed copies of the figures under `reports/train/` and "
             "`reports/eval/` (`reports/figures/`, `reports/tables/`; full size: `dvc pull`); "
             "timings live in MLflow and `reports/bench/`.", ""]
    values = {f.stem: flatten(json.loads(f.read_text(encoding="utf-8")))
              for f in sorted((reports / "metrics").glob("*.json"))}  # family → flat metrics
    rows = []
    for fam, flat in values.items():
        for key, op, bound, profiles in TARGETS.get(fam, []):
            if profile in profiles:
                v = flat.get(key)
                status = "n/a" if v is None else ("met" if _check(v, op, bound) else "**missed**")
                opt = flat.get("test/optimal_return")  # exact optimum where a family computes one
                if status == "**missed**" and opt is not None and not _check(opt, op, bound):
                    status = f"unreachable: the exact optimum is {_fmt(opt)}"
                rows.append(f"| {fam} | {key} | {_fmt(v)} | {op} {bound} | {status} |")
    for fam, key, op, other, okey in RELATIVE:
        v, w = values.get(fam, {}).get(key), values.get(other, {}).get(okey)
        if v is not None and w is not None:
            than = okey if other == fam else other  # within a family: name the other metric
            rows.append(f"| {fam} | {key} | {_fmt(v)} | {op} {than} ({_fmt(w)}) | "
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
        lines += [f"| **{k}** | {_fmt(v)} |" for k, v in flat.items() if not isinstance(v, (list, dict))]
        details = reports / "eval" / fam / DETAILS
        if details.is_file():
            lines += [f"| {k} | {_fmt(v)} |" for k, v in
                      flatten(json.loads(details.read_text(encoding="utf-8"))).items()
                      if not isinstance(v, (list, dict))]
        # the committed copies (report/published.py), so the links work on a git host
        figs = sorted((reports / "figures" / fam).glob("*.png"))
        if figs:
            lines.append("")
            lines += [f"![{p.stem}]({p.relative_to(reports).as_posix()})" for p in figs]
        for t in sorted((reports / "tables" / fam).glob("*.md")):
            lines += ["", f"[{t.stem}]({t.relative_to(reports).as_posix()})"]
        lines.append("")
    return "\n".join(lines)
