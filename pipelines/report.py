"""DVC stage `report`: write reports/README.md from every family's metrics and figures."""

import argparse

from _stage import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    args = ap.parse_args()

    import _layout as lay

    from reprozoo.config import load_params
    from reprozoo.io import write_text
    from reprozoo.report.markdown import build
    from reprozoo.report.winner_panel import winner_comparison

    from reprozoo.report.published import publish

    reports = lay.REPORTS
    published = publish(reports, reports / "figures", reports / "tables")
    print(f"published {sum(map(len, published.values()))} figures and tables of "
          f"{len(published)} families under {reports / 'figures'} and {reports / 'tables'}")
    panel = winner_comparison(reports, reports / "figures" / "winner_neurons.png")
    if panel is not None:
        print(f"wrote {panel}")
    out = reports / "README.md"
    write_text(out, build(reports, load_params(args.params).profile))
    print(f"wrote {out}")


if __name__ == "__main__":
    run(main)
