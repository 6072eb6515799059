"""DVC stage `fetch@<dataset>`: fetch and verify one registered data set into data/raw/.

Sources: $REPROZOO_DATA_MIRROR (a mirror folder such as ../shared/data) if set, files
shipped in installed packages, then the canonical URL (not with --offline). `mnist`
fetches the variant named by `fetch.mnist_variant` in params.yaml.
"""

import argparse
import os

from _stage import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="a key of `datasets` in params.yaml")
    ap.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    ap.add_argument("--offline", action="store_true", help="never download; mirror/local only")
    args = ap.parse_args()

    import _layout as lay

    from reprozoo.config import load_params
    from reprozoo.data import fetch, registry

    cfg = load_params(args.params).build(fetch.FetchConfig, "fetch")
    name = cfg.source(args.dataset)
    print(f"fetch@{args.dataset}: {name}")
    fetch.fetch(registry.get(name), lay.raw(args.dataset),
                mirror=os.environ.get(fetch.MIRROR_ENV), offline=args.offline)


if __name__ == "__main__":
    run(main)
