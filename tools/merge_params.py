"""Deep-merge params snippets over params.yaml (for trying a family before it is merged).

usage: python tools/merge_params.py conf/params-x.yaml [...] -o /tmp/params.yaml
"""

import argparse

import yaml


def merge(a: dict, b: dict) -> dict:
    for k, v in b.items():
        a[k] = merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snippets", nargs="+")
    ap.add_argument("--base", default="params.yaml")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()
    with open(args.base, encoding="utf-8") as f:
        out = yaml.safe_load(f)
    for s in args.snippets:
        with open(s, encoding="utf-8") as f:
            out = merge(out, yaml.safe_load(f) or {})
    with open(args.out, "w", encoding="utf-8") as f:
        yaml.safe_dump(out, f, sort_keys=False, allow_unicode=True)
