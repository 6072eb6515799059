"""Copies of the families' figures and tables that the report can link on a git host.

The figures under reports/train/ and reports/eval/ are DVC outputs (git-ignored), so links
to them are broken wherever the repository is read without `dvc pull`. The report stage
publishes a small copy of each into git: PNGs scaled to at most `MAX_WIDTH` pixels and
reduced to a 256-colour palette (a few tens of KiB each, deterministic for a given
Pillow), and the Markdown tables as they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MAX_WIDTH = 720
KINDS = ("train", "eval")


def _small_png(src: Path, dest: Path) -> None:
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > MAX_WIDTH:
            im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.LANCZOS)
        im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        im.save(dest, optimize=True)


def publish(reports: Path, figures: Path, tables: Path) -> dict[str, list[Path]]:
    """Write `figures/<family>/<train|eval>-<name>.png` and `tables/<family>/<name>.md` for
    every family folder under reports/train and reports/eval; returns {family: files}."""
    out: dict[str, list[Path]] = {}
    for kind in KINDS:
        for fam_dir in sorted(p for p in (reports / kind).glob("*") if p.is_dir()):
            fam = fam_dir.name
            for src in sorted(fam_dir.glob("*.png")):
                dest = figures / fam / f"{kind}-{src.stem}.png"
                _small_png(src, dest)
                out.setdefault(fam, []).append(dest)
            for src in sorted(fam_dir.glob("*.md")):
                dest = tables / fam / f"{src.stem}.md"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                out.setdefault(fam, []).append(dest)
    return out
