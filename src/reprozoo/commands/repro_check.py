"""Run the graph twice from scratch (smoke profile) and compare every output hash."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--profile", default="smoke", choices=("smoke", "default", "full"),
                    help="profile to build twice (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies in .scratch/")


def run(args: argparse.Namespace) -> int:
    from reprozoo.repro_check import check

    problems = check(Path.cwd(), args.profile, keep=args.keep)
    if problems:
        print("repro-check FAILED: outputs differ between two identical runs:")
        for p in problems:
            print(f"  {p}")
        return 1
    print("repro-check passed: every output hash identical across two runs")
    return 0
