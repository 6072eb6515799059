"""Prepare the Groceries market baskets: data/raw/groceries/ → data/processed/groceries/.

Raw input: `groceries.csv` (R arules' `Groceries`, 9,835 baskets), one basket a line,
items comma-separated. Items are stripped of surrounding white space (the export writes
"cream cheese " with a trailing blank in some lines); an item repeated inside one basket
counts once. Lines with no item (empty or only commas/blanks) are skipped and counted,
with their 1-based line numbers in stats.json.

File contract (what the `rules` family reads; nothing downstream re-parses the CSV):

    items.json      list[str] (M,)       item names, sorted by name; index = column
    baskets.npy     bool (N, M)          one-hot baskets, rows in the file's basket order
    test_mask.npy   bool (N,)            True = held out (seeded draw, `test_fraction`)
    stats.json      counts: baskets, items, skipped lines and their numbers, basket sizes

The held-out mask depends only on the seed and N (not on the items or their order).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from reprozoo.config import param
from reprozoo.errors import DataError
from reprozoo.io import write_json

RAW_FILE = "groceries.csv"
MAX_REPORTED_LINES = 50  # line numbers listed in stats.json (the count is always exact)


@dataclasses.dataclass(frozen=True)
class Config:
    test_fraction: float = param(0.2, ge=0.0, lt=1.0, doc="share of baskets held out for evaluate")
    max_baskets: int = param(0, ge=0, doc="keep the first this many baskets (0 = all; smoke runs)")


def parse_baskets(text: str) -> tuple[list[list[str]], dict]:
    """Baskets (sorted unique item names) from the CSV text, plus parse statistics."""
    baskets: list[list[str]] = []
    empty_lines: list[int] = []
    n_empty_lines = n_empty_items = n_duplicates = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = [f.strip() for f in line.split(",")]
        items = [f for f in fields if f]
        n_empty_items += len(fields) - len(items) if items else 0
        if not items:
            n_empty_lines += 1
            if len(empty_lines) < MAX_REPORTED_LINES:
                empty_lines.append(lineno)
            continue
        unique = sorted(set(items))
        n_duplicates += len(items) - len(unique)
        baskets.append(unique)
    stats = {"skipped_empty_lines": n_empty_lines, "skipped_empty_line_numbers": empty_lines,
             "skipped_empty_items": n_empty_items, "duplicate_items_dropped": n_duplicates}
    return baskets, stats


def one_hot(baskets: list[list[str]]) -> tuple[list[str], np.ndarray]:
    """(items sorted by name, bool matrix (N, M))."""
    items = sorted({it for b in baskets for it in b})
    col = {it: j for j, it in enumerate(items)}
    x = np.zeros((len(baskets), len(items)), dtype=bool)
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    cols = np.fromiter((col[it] for b in baskets for it in b), dtype=np.int64, count=len(rows))
    x[rows, cols] = True
    return items, x


def prepare(cfg: Config, raw_dir: Path, out_dir: Path, seed: int) -> dict:
    path = Path(raw_dir) / RAW_FILE
    if not path.exists():
        raise DataError(f"{path}: not found; run the fetch stage first (dvc repro fetch@groceries)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc})") from None
    baskets, stats = parse_baskets(text)
    if stats["skipped_empty_lines"]:
        print(f"groceries: skipped {stats['skipped_empty_lines']} empty basket line(s): "
              f"{stats['skipped_empty_line_numbers'][:10]}")
    if cfg.max_baskets:
        baskets = baskets[: cfg.max_baskets]
    if not baskets:
        raise DataError(f"{path}: no basket with at least one item")
    items, x = one_hot(baskets)
    rng = np.random.default_rng(seed)
    test_mask = rng.random(len(baskets)) < cfg.test_fraction
    out_dir = Path(out_dir)
    write_json(out_dir / "items.json", items)
    np.save(out_dir / "baskets.npy", x)
    np.save(out_dir / "test_mask.npy", test_mask)
    sizes = x.sum(axis=1)
    return {"baskets": int(len(x)), "items": len(items), "test_baskets": int(test_mask.sum()),
            "item_occurrences": int(sizes.sum()), "mean_basket_size": round(float(sizes.mean()), 4),
            "max_basket_size": int(sizes.max()), **stats}


def load(data_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(items, baskets (N, M) bool, test_mask (N,) bool) from a prepared folder."""
    from reprozoo.io import read_json

    data_dir = Path(data_dir)
    if not (data_dir / "baskets.npy").exists():
        raise DataError(f"{data_dir}: no baskets.npy; run the prepare stage (dvc repro prepare@groceries)")
    return (read_json(data_dir / "items.json"), np.load(data_dir / "baskets.npy"),
            np.load(data_dir / "test_mask.npy"))
