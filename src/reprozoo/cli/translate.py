"""Translate Japanese sentences to English with the trained seq2seq model.

    reprozoo translate "とても悲しいです。"
    printf '海外に旅行に行きたい。\\nこれは料理です。\\n' | reprozoo translate -

The model and both vocabularies come from the checkpoint (models/seq2seq/model.pt by
default); the Japanese tokenizer is MeCab with unidic-lite, as in the prepare stage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reprozoo.errors import ReprozooError


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("text", nargs="?", default=None,
                    help="a Japanese sentence; '-' or nothing (with piped input) reads lines from stdin")
    ap.add_argument("--model", type=Path, default=Path("models/seq2seq/model.pt"),
                    help="checkpoint (default: %(default)s)")
    ap.add_argument("--family", default="seq2seq", help="family that wrote the checkpoint (default: %(default)s)")
    ap.add_argument("--beam", type=int, default=1, help="beam width (1 = greedy; default: %(default)s)")


def read_input(args: argparse.Namespace) -> list[str]:
    if args.text is not None and args.text != "-":
        return [args.text]
    if args.text is None and sys.stdin.isatty():
        raise ReprozooError('nothing to translate: give a sentence (reprozoo translate "とても悲しいです。") '
                            "or pipe lines into `reprozoo translate -`")
    lines = [line.strip() for line in sys.stdin.read().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ReprozooError("empty input: no non-blank lines on stdin")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.beam < 1:
        raise ReprozooError(f"--beam {args.beam}: must be at least 1")
    lines = read_input(args)
    if any(not line.strip() for line in lines):
        raise ReprozooError('empty input: give a Japanese sentence, e.g. reprozoo translate "とても悲しいです。"')
    from reprozoo.families.seq2seq.evaluate import load_model
    from reprozoo.families.seq2seq.translate import translate_lines

    tr = load_model(args.model, args.family)
    if len(lines) == 1:
        print(translate_lines(tr, lines, beam=args.beam)[0])
        return 0
    # Many lines: a bad line gets an empty output line (keeps lines aligned) and a message.
    failed = 0
    for n, line in enumerate(lines, start=1):
        try:
            print(translate_lines(tr, [line], beam=args.beam)[0], flush=True)
        except ReprozooError as exc:
            failed += 1
            print("", flush=True)
            print(f"line {n}: {exc}", file=sys.stderr)
    return 1 if failed else 0
