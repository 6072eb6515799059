"""Build the offline HTML template of `dvc plots show`: .dvc/plots/offline.html.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so its charts are blank
without internet. This tool takes the same three libraries, at the versions DVC's renderer
names (dvc_render.vega), from the npm registry (`npm pack`, each tarball checked against
the pinned npm integrity hash), and inlines them into one page with DVC's `{plot_divs}`
placeholder. `.dvc/config` points `plots.html_template` at it, so every `dvc plots show`
writes a self-contained page. Run it only to change versions; the result is committed.

    python tools/plots_template.py
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".dvc" / "plots" / "offline.html"
# package → (file in the tarball, npm integrity of the tarball): a changed tarball is refused
PACKAGES: dict[str, tuple[str, str]] = {
    "vega": ("package/build/vega.min.js", "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw=="),
    "vega-lite": ("package/build/vega-lite.min.js", "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw=="),
    "vega-embed": ("package/build/vega-embed.min.js", "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg=="),
}
PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>reprozoo plots</title>
    <!-- Vega {vega}, Vega-Lite {vega_lite}, Vega-Embed {vega_embed} (BSD-3-Clause, University of
         Washington Interactive Data Lab), inlined by tools/plots_template.py: no network needed. -->
{scripts}
    <style>
        body {{ font-family: sans-serif; }}
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def dvc_versions() -> dict[str, str]:
    """The versions DVC's own page loads (`<script src=".../npm/vega@5.20.2">`)."""
    import dvc_render.vega as v

    found = dict(re.findall(r"npm/(vega(?:-lite|-embed)?)@([\d.]+)", Path(v.__file__).read_text()))
    if set(found) != set(PACKAGES):
        raise SystemExit(f"error: could not read the Vega versions from {v.__file__}: {found}")
    return found


def fetch(pkg: str, version: str, pinned: str, tmp: Path) -> str:
    proc = subprocess.run(["npm", "pack", "--json", f"{pkg}@{version}"], cwd=tmp,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"error: npm pack {pkg}@{version} failed: {proc.stderr.strip()[-300:]}")
    info = json.loads(proc.stdout)[0]
    tgz = tmp / info["filename"]
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != info["integrity"] or digest != pinned:
        raise SystemExit(f"error: {tgz.name}: integrity {digest}, expected {pinned}")
    member = PACKAGES[pkg][0]
    with tarfile.open(tgz) as tar:
        js = tar.extractfile(member).read().decode("utf-8")
    if "</script" in js.lower():  # would end the inline <script> early
        js = re.sub(r"(?i)</script", r"<\\/script", js)
    return js


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    versions = dvc_versions()
    with tempfile.TemporaryDirectory() as d:
        scripts = []
        for pkg in PACKAGES:
            js = fetch(pkg, versions[pkg], PACKAGES[pkg][1], Path(d))
            scripts.append(f"    <script>/* {pkg}@{versions[pkg]} */\n{js}\n    </script>")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(PAGE.format(vega=versions["vega"], vega_lite=versions["vega-lite"],
                               vega_embed=versions["vega-embed"], scripts="\n".join(scripts)),
                   encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
