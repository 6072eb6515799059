"""Prepare MovieLens 100K ratings: data/raw/movielens/ → data/processed/movielens/.

Reads `u.data` (`user<TAB>item<TAB>rating<TAB>timestamp`, ids 1-based) and `u.item`
(`id|title|...`, latin-1). A line that does not parse into four integers, or whose rating
is outside 1–5, is reported with its line number and not used (never silently kept, never
fatal); so is a rating by a user missing from `u.user` or of a movie missing from `u.item`
(the data set's own id lists, 943 users and 1,682 movies), and a repeated (user, item)
pair keeps its first line and reports the others.

File contract (what the `mf` family and `reprozoo recommend` read):

    user.npy      int64   (N,)       contiguous user index 0..n_users-1
    item.npy      int64   (N,)       contiguous item index 0..n_items-1
    rating.npy    float32 (N,)       rating 1..5
    fold.npy      int8    (N,)       5-fold protocol: fold id 0..n_folds-1 (seeded shuffle,
                                     as Surprise's KFold: each rating is test once)
    test.npy      bool    (N,)       fixed 80/20 split: True = held-out test rating
    user_ids.npy  int64   (n_users,) original MovieLens user id of each index (sorted)
    item_ids.npy  int64   (n_items,) original movie id of each index (sorted)
    titles.json   list of n_items titles from u.item, by item index
    stats.json    counts, rating histogram, bad lines (first 20 with line numbers)

Rows are sorted by (user id, item id), and the folds and split come from a seeded
permutation of that order, so the outputs do not depend on the order of lines in u.data.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

from reprozoo.config import param
from reprozoo.errors import DataError
from reprozoo.io import write_json

MAX_REPORTED = 20  # bad lines listed in stats.json (all are counted)


@dataclasses.dataclass(frozen=True)
class Config:
    n_folds: int = param(5, ge=2, doc="folds of the cross-validation protocol")
    test_fraction: float = param(0.2, gt=0.0, lt=1.0, doc="held-out share of the fixed split")
    max_ratings: int = param(0, ge=0, doc="keep a seeded subset of this many ratings (0 = all)")


def read_ratings(path: Path, users: set[int] | None = None,
                 items: set[int] | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Parse u.data into an int64 (N, 3) array [user, item, rating] (original ids) and a
    list of bad lines ``{"line": 1-based number, "reason": ..., "text": ...}``. `users` /
    `items`: the known ids (None = accept any)."""
    if not path.exists():
        raise DataError(f"{path}: not found; run the fetch stage first (dvc repro fetch@movielens)")
    rows, bad, seen = [], [], set()
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                bad.append({"line": lineno, "reason": "empty line", "text": ""})
                continue
            parts = text.split("\t")
            try:
                if len(parts) != 4:
                    raise ValueError(f"expected 4 tab-separated fields, got {len(parts)}")
                u, i, r, _ = (int(p) for p in parts)
            except ValueError as exc:
                reason = str(exc) if "expected" in str(exc) else "non-integer field"
                bad.append({"line": lineno, "reason": reason, "text": text[:80]})
                continue
            if not 1 <= r <= 5:
                bad.append({"line": lineno, "reason": f"rating {r} outside 1-5", "text": text[:80]})
                continue
            if u < 1 or i < 1:
                bad.append({"line": lineno, "reason": "id must be >= 1", "text": text[:80]})
                continue
            if users is not None and u not in users:
                bad.append({"line": lineno, "reason": f"user {u} not in u.user", "text": text[:80]})
                continue
            if items is not None and i not in items:
                bad.append({"line": lineno, "reason": f"movie {i} not in u.item", "text": text[:80]})
                continue
            if (u, i) in seen:
                bad.append({"line": lineno, "reason": f"duplicate rating of item {i} by user {u}",
                            "text": text[:80]})
                continue
            seen.add((u, i))
            rows.append((u, i, r))
    return np.array(rows, dtype=np.int64).reshape(-1, 3), bad


def read_titles(path: Path) -> dict[int, str]:
    """Movie id → title from u.item (latin-1, `|`-separated)."""
    titles = {}
    if not path.exists():
        return titles
    with open(path, encoding="latin-1") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("|")
            if len(parts) >= 2 and parts[0].strip().isdigit():
                titles[int(parts[0])] = parts[1]
    return titles


def read_user_ids(path: Path) -> set[int] | None:
    """User ids listed in u.user (`id|age|gender|occupation|zip`); None if the file is absent."""
    if not path.exists():
        return None
    with open(path, encoding="latin-1") as f:
        return {int(p[0]) for p in (line.split("|") for line in f) if p[0].strip().isdigit()}


def prepare(cfg: Config, raw_dir: Path, out_dir: Path, seed: int) -> dict[str, Any]:
    titles_by_id = read_titles(raw_dir / "u.item")
    data, bad = read_ratings(raw_dir / "u.data", read_user_ids(raw_dir / "u.user"),
                             set(titles_by_id) or None)
    if bad:  # one summary line per reason (the full list is in stats.json's bad lines)
        by_reason: dict[str, list[int]] = {}
        for x in bad:
            by_reason.setdefault(x["reason"], []).append(x["line"])
        for reason, lines in sorted(by_reason.items()):
            shown = ", ".join(map(str, lines[:3])) + (", ..." if len(lines) > 3 else "")
            print(f"{raw_dir / 'u.data'}: skipped {len(lines)} line(s) ({reason}): lines {shown}",
                  file=sys.stderr)
    if len(data) == 0:
        raise DataError(f"{raw_dir / 'u.data'}: no valid ratings")
    data = data[np.lexsort((data[:, 1], data[:, 0]))]  # by (user, item): file order is irrelevant
    rng = np.random.default_rng(seed)
    if cfg.max_ratings and cfg.max_ratings < len(data):
        keep = np.sort(rng.permutation(len(data))[: cfg.max_ratings])
        data = data[keep]
    user_ids, user = np.unique(data[:, 0], return_inverse=True)
    item_ids, item = np.unique(data[:, 1], return_inverse=True)
    n = len(data)
    perm = rng.permutation(n)
    fold = np.empty(n, dtype=np.int8)
    fold[perm] = np.arange(n) % cfg.n_folds  # equal-sized folds over a seeded shuffle
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: int(round(cfg.test_fraction * n))]] = True
    titles = [titles_by_id.get(int(m), f"movie {int(m)}") for m in item_ids]

    np.save(out_dir / "user.npy", user.astype(np.int64))
    np.save(out_dir / "item.npy", item.astype(np.int64))
    np.save(out_dir / "rating.npy", data[:, 2].astype(np.float32))
    np.save(out_dir / "fold.npy", fold)
    np.save(out_dir / "test.npy", test)
    np.save(out_dir / "user_ids.npy", user_ids.astype(np.int64))
    np.save(out_dir / "item_ids.npy", item_ids.astype(np.int64))
    write_json(out_dir / "titles.json", titles)
    hist = np.bincount(data[:, 2], minlength=6)[1:]
    return {"n_ratings": int(n), "n_users": int(len(user_ids)), "n_items": int(len(item_ids)),
            "n_folds": cfg.n_folds, "n_test": int(test.sum()),
            "rating_histogram": {str(r): int(c) for r, c in enumerate(hist, 1)},
            "mean_rating": round(float(data[:, 2].mean()), 6),
            "n_bad_lines": len(bad), "bad_lines": bad[:MAX_REPORTED],
            "n_titles_missing": sum(int(m) not in titles_by_id for m in item_ids)}


def load(data_dir: Path) -> dict[str, Any]:
    """The prepared arrays as a dict (numpy) plus `titles`; a clear error if missing."""
    data_dir = Path(data_dir)
    if not (data_dir / "rating.npy").exists():
        raise DataError(f"{data_dir}: no prepared ratings; run `dvc repro prepare@movielens`")
    out: dict[str, Any] = {k: np.load(data_dir / f"{k}.npy")
                           for k in ("user", "item", "rating", "fold", "test", "user_ids", "item_ids")}
    import json

    with open(data_dir / "titles.json", encoding="utf-8") as f:
        out["titles"] = json.load(f)
    return out
