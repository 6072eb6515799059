"""Translate Japanese sentences to English with the trained seq2seq model.

    reprozoo translate "とても悲しいです。"
    printf '海外に旅行に行きたい。\\nこれは料理です。\\n' | reprozoo translate -

The model and both vocabularies come from the checkpoint (models/seq2seq/model.pt by
default); the Japanese tokenizer is MeCab with unidic-lite, as in the prepare stage.
"""

from __future__ import annotations

import argparse
import sys

from reprozoo.errors import ReprozooError


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("text", nargs="?", default=None,
                    help="a Japanese sentence; '-' or nothing (with piped input) reads lines from stdin")
    ap.add_argument("--model", default="models/seq2seq/model.pt",
                    help="checkpoint, or a registered MLflow model, e.g. models:/reprozoo-seq2seq@champion "
                         "(default: %(default)s)")
    ap.add_argument("--family", default="seq2seq", help="family that wrote the checkpoint (default: %(default)s)")
    ap.add_argument("--beam", type=int, default=1, help="beam width (1 = greedy; default: %(default)s)")


def _check_text(text: str) -> str | None:
    """Why `text` cannot be translated (None if it can)."""
    if "\x00" in text:
        return "contains a NUL byte: not text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 (argv keeps them as surrogates)
        return "is not UTF-8 text"
    return None


def read_input(args: argparse.Namespace) -> list[tuple[int, str, str | None]]:
    """(line number, text, problem or None) for each non-blank input line."""
    if args.text is not None and args.text != "-":
        return [(1, args.text, _check_text(args.text))]
    if args.text is None and sys.stdin.isatty():
        raise ReprozooError('nothing to translate: give a sentence (reprozoo translate "とても悲しいです。") '
                            "or pipe lines into `reprozoo translate -`")
    out = []
    for n, raw in enumerate(sys.stdin.buffer.read().splitlines(), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            out.append((n, "", f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"))
            continue
        if line:
            out.append((n, line, _check_text(line)))
    if not out:
        raise ReprozooError("empty input: no non-blank lines on stdin")
    return out


def run(args: argparse.Namespace) -> int:
    from reprozoo.serving import model_path

    if args.beam < 1:
        raise ReprozooError(f"--beam {args.beam}: must be at least 1")
    lines = read_input(args)
    if len(lines) == 1 and lines[0][2]:
        raise ReprozooError(f"the input {lines[0][2]}; give a Japanese sentence, e.g. "
                            'reprozoo translate "とても悲しいです。"')
    from reprozoo.families.seq2seq.evaluate import load_model
    from reprozoo.families.seq2seq.translate import translate_lines

    tr = load_model(model_path(args.model), args.family)
    if len(lines) == 1:
        print(translate_lines(tr, [lines[0][1]], beam=args.beam)[0])
        return 0
    # Many lines: a bad line gets an empty output line (keeps lines aligned) and a message
    # naming its line number; the others are translated.
    failed = 0
    for n, line, problem in lines:
        try:
            if problem:
                raise ReprozooError(problem)
            print(translate_lines(tr, [line], beam=args.beam)[0], flush=True)
        except ReprozooError as exc:
            failed += 1
            print("", flush=True)
            print(f"line {n}: {exc}", file=sys.stderr)
    return 1 if failed else 0
