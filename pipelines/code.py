"""DVC stage `code`: one file of hashes of the code that every train and evaluate stage runs.

Those stages (44 today) depend on this file instead of on each of those files (about 15),
with the same effect: edit one of them and this stage writes a new file, and every train
and evaluate stage reruns; edit none and nothing reruns. What it saves: DVC rewrites the whole
dvc.lock after each stage with a pure-Python YAML round trip (about 1 s a stage at its
former 175 KB, most of it those repeated entries), and reads it on every `dvc status`.

    python pipelines/code.py FILE... [--out data/code/stages.json]   (the files: dvc.yaml's, from tools/graph.py)
"""

import argparse

from _stage import run


def main() -> None:
    import _layout as lay

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="the files to hash (paths relative to the project)")
    ap.add_argument("--out", default=str(lay.CODE), help="where to write (default: %(default)s)")
    args = ap.parse_args()

    from reprozoo.io import sha256_file, write_json

    write_json(args.out, {"sha256": {f: sha256_file(f) for f in sorted(set(args.files))}})
    print(f"wrote {args.out}: the hashes of {len(set(args.files))} files")


if __name__ == "__main__":
    run(main)
