"""List the model families (from params.yaml's `families:`), their kinds and the data sets."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--params", type=Path, default=Path("params.yaml"),
                    help="params file declaring the families (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from reprozoo import families
    from reprozoo.config import load_params
    from reprozoo.data.registry import DATASETS

    params = load_params(args.params)
    print(f"families ({args.params}: name, kind = src/reprozoo/families/<kind>/, inputs):")
    for name, e in families.entries(params.raw, str(args.params)).items():
        inputs = ", ".join(p for p in (e.data, e.needs) if p) or "-"
        print(f"  {name:16s} {e.kind:12s} {inputs}")
    print("data sets:")
    for ds in DATASETS.values():
        print(f"  {ds.name:16s} {ds.description} [{ds.license}]")
    return 0
