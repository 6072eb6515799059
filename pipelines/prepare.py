"""DVC stage `prepare@<dataset>`: data/raw/<dataset>/ → data/processed/<dataset>/.

Each data set's module (reprozoo.data.<name>) documents the file contract it writes;
training stages read only that contract and never re-parse raw data.
"""

import argparse
import json
import shutil

from _stage import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="a key of `datasets` in params.yaml")
    ap.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    args = ap.parse_args()

    import _layout as lay

    from reprozoo import runtime
    from reprozoo.config import load_params
    from reprozoo.data import prepare
    from reprozoo.io import write_json

    params = load_params(args.params)
    mod = prepare.get(args.dataset)
    cfg = params.build(mod.Config, f"prepare.{args.dataset}")
    runtime.seed_everything(params.seed)
    raw, out = lay.raw(args.dataset), lay.processed(args.dataset)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        stats = mod.prepare(cfg, raw, tmp, params.seed) or {}
        write_json(tmp / "stats.json", stats)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)  # all or nothing
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"prepare@{args.dataset}: " + json.dumps(stats, ensure_ascii=False)[:500])


if __name__ == "__main__":
    run(main)
