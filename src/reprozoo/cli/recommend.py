"""Recommend unseen movies to a MovieLens user with the trained `mf` model.

`reprozoo recommend --user 42 -k 10` prints the k highest predicted ratings among the
movies the user has not rated (titles from u.item). The user id is MovieLens's own id.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reprozoo.errors import ReprozooError


class UnknownUserError(ReprozooError):
    """A user id that is not in the prepared ratings."""


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--user", type=int, required=True, help="MovieLens user id (1..943)")
    ap.add_argument("-k", type=int, default=10, help="how many movies (default: %(default)s)")
    ap.add_argument("--model", default="models/mf/model.pt", help="trained mf checkpoint, or a registered MLflow model (models:/reprozoo-mf@champion)")
    ap.add_argument("--data", type=Path, default=Path("data/processed/movielens"), help="prepared ratings")


def run(args: argparse.Namespace) -> int:
    from reprozoo.serving import model_path

    import numpy as np

    from reprozoo.data import movielens
    from reprozoo.families.mf.evaluate import load_model
    from reprozoo.families.mf.model import recommend

    if args.k < 1:
        raise ReprozooError(f"-k {args.k}: must be at least 1")
    d = movielens.load(args.data)
    ids = d["user_ids"]
    pos = int(np.searchsorted(ids, args.user))
    if pos >= len(ids) or ids[pos] != args.user:
        raise UnknownUserError(f"unknown user id {args.user}: the ratings have {len(ids)} users, "
                               f"ids {int(ids.min())}..{int(ids.max())}")
    model, _ = load_model(model_path(args.model), family="mf")  # checkpoint.load with config_cls=mf Config
    n_users, n_items = model.P.shape[0], model.Q.shape[0]
    if (n_users, n_items) != (len(ids), len(d["item_ids"])):
        raise ReprozooError(f"{args.model}: trained on {n_users} users × {n_items} movies but {args.data} "
                            f"has {len(ids)} × {len(d['item_ids'])}; retrain (dvc repro train@mf)")
    rated = d["item"][d["user"] == pos]
    recs = recommend(model, pos, rated, args.k)
    print(f"user {args.user}: {len(rated)} movies rated; top {len(recs)} unseen by predicted rating")
    for rank, (item, score) in enumerate(recs, 1):
        print(f"{rank:3d}. {score:.2f}  {d['titles'][item]}")
    return 0
