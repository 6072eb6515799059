"""DVC stage `train@<family>`: fit one model family on its data.

Reads the family's section of params.yaml (with the active profile applied), logs the
run to MLflow, writes models/<family>/model.pt and reports/train/<family>/.
"""

import argparse

from _stage import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("family", help="a key of `families` in params.yaml")
    ap.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    args = ap.parse_args()

    from _family import family_io

    from reprozoo.config import load_params
    from reprozoo.runner import train_family

    params = load_params(args.params)
    train_family(args.family, params, family_io(params, args.family, "train"))


if __name__ == "__main__":
    run(main)
