"""List the model families and the registered data sets."""

from __future__ import annotations

import argparse


def add_arguments(ap: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from reprozoo.data.registry import DATASETS
    from reprozoo.families import FAMILIES

    print("families:")
    for name, mod in sorted(FAMILIES.items()):
        print(f"  {name:16s} {mod}")
    print("data sets:")
    for ds in DATASETS.values():
        print(f"  {ds.name:16s} {ds.description} [{ds.license}]")
    return 0
