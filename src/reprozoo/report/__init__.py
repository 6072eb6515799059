"""The report: reports/README.md (every family's metrics, targets and figures) and the
cross-family comparison figures. A pure function of the files under reports/.

- `markdown.build(reports, profile)`: the Markdown page
- `targets`: the issues' targets per family
- `winner_panel.winner_comparison(...)`: the seed article's 3×2 winner-neuron panel
"""
