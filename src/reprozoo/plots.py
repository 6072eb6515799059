"""Figures shared by the families. PNGs are written deterministically (no timestamps or
version strings in the metadata) so identical inputs give byte-identical files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reprozoo.io import atomic_path


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:  # a bundled Japanese font (IPAexGothic) so Japanese labels render, not boxes
        import matplotlib_fontja  # noqa: F401  (registers the font and selects it)
    except ImportError:
        pass

    return plt


def cjk_font() -> str | None:
    """The name of an installed font with Japanese glyphs (the bundled IPAexGothic from
    matplotlib-fontja, or a system CJK font), or None."""
    _plt()  # registers the bundled font first
    from matplotlib import font_manager

    names = sorted({f.name for f in font_manager.fontManager.ttflist})
    keys = ("IPAex", "CJK JP", "IPA", "Takao", "Noto Sans JP", "Hiragino")
    return next((n for k in keys for n in names if k in n), None)


def figure(*args: Any, **kw: Any) -> tuple[Any, Any]:
    return _plt().subplots(*args, **kw)


def savefig(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    plt = _plt()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def learning_curves(history: Sequence[Mapping[str, float]], path: str | Path,
                    groups: Mapping[str, Sequence[str]] | None = None, title: str = "") -> Path:
    """One panel per group of history columns, x = step (epoch)."""
    if groups is None:
        keys = [k for k in history[0] if k != "step"]
        groups = {"loss": [k for k in keys if "loss" in k], "accuracy": [k for k in keys if "acc" in k]}
        groups = {g: ks for g, ks in groups.items() if ks}
    fig, axes = figure(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False)
    steps = [h["step"] for h in history]
    for ax, (name, keys) in zip(axes[0], groups.items()):
        for k in keys:
            ax.plot(steps, [h.get(k, float("nan")) for h in history], marker="o", ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return savefig(fig, path)


def confusion_matrix(cm: Any, path: str | Path, labels: Sequence[str] | None = None,
                     title: str = "") -> Path:
    import numpy as np

    cm = np.asarray(cm)
    fig, ax = figure(figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    n = cm.shape[0]
    labels = list(labels) if labels is not None else [str(i) for i in range(n)]
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    thresh = cm.max() / 2
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > thresh else "black")
    ax.set_title(title or "confusion matrix")
    return savefig(fig, path)


def image_grid(images: Any, path: str | Path, ncols: int = 10, titles: Sequence[str] | None = None,
               cmap: str = "gray", title: str = "", symmetric: bool = False) -> Path:
    """images: (N, H, W) array-like or a list of 2-d arrays of any shapes. `symmetric`
    centres the colour map on 0 (for weights)."""
    import numpy as np

    imgs = [np.asarray(im, dtype=np.float32) for im in images]
    n = len(imgs)
    nrows = (n + ncols - 1) // ncols
    fig, axes = figure(nrows, ncols, figsize=(ncols * 1.1, nrows * 1.2 + (0.4 if title else 0)),
                       squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            kw = {}
            if symmetric:
                m = float(np.abs(imgs[i]).max()) or 1.0
                kw = {"vmin": -m, "vmax": m}
            ax.imshow(imgs[i], cmap=cmap, **kw)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if title:
        fig.suptitle(title)
    return savefig(fig, path)
