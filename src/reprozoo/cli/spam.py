"""Classify SMS messages as spam or ham with the trained `nb_spam` model.

`reprozoo spam "WINNER!! claim your prize now"` prints the label and P(spam) per message.
"""

from __future__ import annotations

import argparse

from reprozoo.errors import ReprozooError


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("message", nargs="+", help="one or more messages (quote each)")
    ap.add_argument("--model", default="models/nb_spam/model.pt",
                    help="trained nb_spam checkpoint or a registered MLflow model, e.g. models:/reprozoo-nb_spam@champion (default: %(default)s)")
    ap.add_argument("--baseline", action="store_true", help="use the word-count baseline model")


def run(args: argparse.Namespace) -> int:
    from reprozoo.serving import model_path

    from reprozoo.families.naive_bayes.evaluate import load_spam_models

    if not any(m.strip() for m in args.message):
        raise ReprozooError("empty message: give the text to classify in quotes")
    # checkpoint.load(..., config_cls=Config): the improved model is rebuilt from its saved config
    models, _ = load_spam_models(model_path(args.model), family="nb_spam")
    model = models["baseline" if args.baseline else "improved"]
    for text, p in zip(args.message, model.spam_probability(args.message)):
        label = "spam" if p > 0.5 else "ham"
        print(f"{label}\tP(spam)={p:.4f}\t{text}")
    return 0
