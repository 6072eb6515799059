"""Fetch and verify a registered data set (the same code the `fetch` stage runs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(ap: argparse.ArgumentParser) -> None:
    from reprozoo.data.registry import DATASETS

    ap.add_argument("dataset", choices=sorted(DATASETS), help="registered data set")
    ap.add_argument("--dest", type=Path, help="folder to write (default: data/raw/<dataset>)")
    ap.add_argument("--mirror", default=os.environ.get("REPROZOO_DATA_MIRROR"),
                    help="mirror folder laid out like ../shared/data (default: $REPROZOO_DATA_MIRROR)")
    ap.add_argument("--offline", action="store_true", help="never download")


def run(args: argparse.Namespace) -> int:
    from reprozoo.data import fetch, registry

    ds = registry.get(args.dataset)
    dest = args.dest or Path("data/raw") / args.dataset
    fetch.fetch(ds, dest, mirror=args.mirror, offline=args.offline)
    print(f"{ds.name}: {len(ds.files)} file(s) verified into {dest} (license: {ds.license})")
    return 0
