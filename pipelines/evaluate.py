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

    import _layout as lay

    from reprozoo import families
    from reprozoo.config import load_params
    from reprozoo.runner import StageIO, evaluate_family

    params = load_params(args.params)
    entry = families.entry(params.raw, args.family, where=str(params.path))
    root, tags = lay.pipeline_identity(f"evaluate@{args.family}")
    evaluate_family(args.family, params, StageIO(
        data=lay.optional(entry.data), needs=lay.optional(entry.needs),
        model_dir=lay.model_dir(args.family), report_dir=lay.eval_reports(args.family),
        metrics_file=lay.metrics_file(args.family), root=root, tags=tags))


if __name__ == "__main__":
    run(main)
