"""DVC stage `evaluate@<family>`: score a trained model on held-out data.

Loads models/<family>/model.pt, writes reports/metrics/<family>.json (a DVC metric) and
reports/eval/<family>/, and adds the test metrics to the MLflow run that trained it.
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
    from reprozoo.runner import evaluate_family

    params = load_params(args.params)
    evaluate_family(args.family, params, family_io(params, args.family, "evaluate"))


if __name__ == "__main__":
    run(main)
