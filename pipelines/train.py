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

    import _layout as lay

    from reprozoo import families
    from reprozoo.config import load_params
    from reprozoo.runner import StageIO, train_family

    params = load_params(args.params)
    entry = families.entry(params.raw, args.family, where=str(params.path))
    root, tags = lay.pipeline_identity(f"train@{args.family}")
    train_family(args.family, params, StageIO(
        data=lay.optional(entry.data), needs=lay.optional(entry.needs),
        model_dir=lay.model_dir(args.family), report_dir=lay.train_reports(args.family),
        root=root, tags=tags))


if __name__ == "__main__":
    run(main)
