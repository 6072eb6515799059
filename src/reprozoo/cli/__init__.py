"""The `reprozoo` command line: `reprozoo --help` lists every command.

One module per command in this package (imported only when called), each with a
docstring, ``add_arguments(parser)`` and ``run(args) -> int``. The pipeline itself runs
with `dvc repro`; these commands fetch data, check reproducibility and use trained models.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from reprozoo.errors import ReprozooError

COMMANDS: dict[str, str] = {
    "fetch": "reprozoo.cli.fetch",
    "families": "reprozoo.cli.families",
    "repro-check": "reprozoo.cli.repro_check",
    "translate": "reprozoo.cli.translate",
    "recommend": "reprozoo.cli.recommend",
    "spam": "reprozoo.cli.spam",
}

SUMMARIES = {
    "fetch": "fetch and verify a registered data set into data/raw/",
    "families": "list the model families and data sets",
    "repro-check": "build the smoke graph from scratch and compare every output hash with the reference",
    "translate": "translate Japanese sentences to English with the trained seq2seq model",
    "recommend": "recommend unseen movies to a MovieLens user",
    "spam": "classify an SMS message as spam or ham",
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from reprozoo import __version__

    ap = argparse.ArgumentParser(
        prog="reprozoo",
        description="Reproducible classic models. The pipeline itself runs with `dvc repro`; "
                    "these commands fetch data, check reproducibility and use trained models.")
    ap.add_argument("--version", action="version", version=f"reprozoo {__version__}")
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    subs = {}
    for name in COMMANDS:
        subs[name] = sub.add_parser(name, help=SUMMARIES.get(name, ""), description=SUMMARIES.get(name))
    return ap, subs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap, subs = build_parser()
    # Only the chosen command's module is imported (no torch/mlflow for `--help`).
    name = next((a for a in argv if not a.startswith("-")), None)
    if name in COMMANDS:
        mod = importlib.import_module(COMMANDS[name])
        mod.add_arguments(subs[name])
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    try:
        return int(mod.run(args) or 0)
    except ReprozooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or an unexpected library error: one line unless --debug
        if args.debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"error: unexpected {type(exc).__name__} in `reprozoo {name}`: {first} "
              "(run again with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
