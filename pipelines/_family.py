"""The inputs and outputs of a family's train/evaluate stage, from its params.yaml entry."""

from __future__ import annotations

import _layout as lay


def family_io(params, family: str, step: str):
    """The `StageIO` of `<step>@<family>` (step: train | evaluate), from the family's entry."""
    from reprozoo import families
    from reprozoo.runner import StageIO

    entry = families.entry(params.raw, family, where=str(params.path))
    root, tags = lay.pipeline_identity(f"{step}@{family}")
    return StageIO(data=lay.optional(entry.data), needs=lay.optional(entry.needs),
                   model_dir=lay.model_dir(family),
                   report_dir=lay.train_reports(family) if step == "train" else lay.eval_reports(family),
                   metrics_file=lay.metrics_file(family) if step == "evaluate" else None,
                   root=root, tags=tags)
