"""The seed article 002's 3×2 comparison of winner neurons across the three MNIST models.

Each of `slp`, `mlp` and `mlp_imginit` writes `reports/eval/<family>/winner_neuron.json`
in its evaluate stage (`families/mnist_clf/evaluate.py`, `save_winner`); the report stage puts them side by side.
NumPy + matplotlib only (the report stage does not import torch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reprozoo import plots
from reprozoo.io import read_json

FAMILIES = ("slp", "mlp", "mlp_imginit")


def winner_comparison(reports: Path, path: Path) -> Path | None:
    """Draw the article's 3×2 panel from `reports`/eval/<family>/winner_neuron.json.

    Row 1: the test digit and the SLP's winning output unit's 784 weights; rows 2 and 3:
    the hidden winner (784 weights) and the output winner (its weights over the 512 hidden
    units, reshaped) of the MLP and of the image-initialized MLP. Test accuracies come from
    reports/metrics/<family>.json. Returns None (and draws nothing) unless all three exist."""
    files = {f: reports / "eval" / f / "winner_neuron.json" for f in FAMILIES}
    if not all(p.exists() for p in files.values()):
        return None
    pics = {f: read_json(p) for f, p in files.items()}
    acc = {}
    for f in FAMILIES:
        m = reports / "metrics" / f"{f}.json"
        acc[f] = f" ({read_json(m)['test/accuracy']:.1%})" if m.exists() else ""
    rows = [(pics["slp"]["images"][0], "test digit", pics["slp"]["images"][1],
             f"SLP{acc['slp']}: {pics['slp']['titles'][1]}")]
    for f, label in (("mlp", "MLP"), ("mlp_imginit", "image-init MLP")):
        imgs, titles = pics[f]["images"], pics[f]["titles"]
        rows.append((imgs[1], f"{label}{acc[f]}: {titles[1]}", imgs[2], f"{label}: {titles[2]}"))
    fig, axes = plots.figure(3, 2, figsize=(5.6, 7.6), squeeze=False)
    for r, (a, ta, b, tb) in enumerate(rows):
        for c, (im, t) in enumerate(((a, ta), (b, tb))):
            im = np.asarray(im, dtype=np.float64)
            ax = axes[r, c]
            if r == 0 and c == 0:
                ax.imshow(im, cmap="gray")
            else:
                m = float(np.abs(im).max()) or 1.0
                ax.imshow(im, cmap="bwr", vmin=-m, vmax=m)
            ax.set_title(t, fontsize=8)
            ax.axis("off")
    fig.suptitle("winner neurons for one test digit (weights: red +, blue −)", fontsize=10)
    return plots.savefig(fig, path)
