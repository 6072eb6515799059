"""charrnn evaluation: the test split's cross-entropy per character (nats, bits,
perplexity) and greedy / sampled completions of `prefixes` (samples.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from reprozoo import checkpoint
from reprozoo.context import Context
from reprozoo.errors import CheckpointError
from reprozoo.io import write_text
from reprozoo.runtime import generator

from .config import Config
from .data import encode, load_splits
from .model import CharModel, complete, cross_entropy


def load_model(path: Path, family: str = "charrnn", device: Any = "cpu") -> tuple[CharModel, str]:
    """(model, character set `itos`) from the checkpoint at `path`; the network is rebuilt
    from the saved config, so a changed params section cannot mismatch the weights."""
    ck = checkpoint.load(path, family=family, config_cls=Config)
    if "itos" not in ck.state:
        raise CheckpointError(f"{path}: checkpoint state lacks 'itos' (the character set)")
    itos: str = ck.state["itos"]
    model = CharModel(ck.config.model_config(len(itos))).to(device)
    checkpoint.restore(model, ck.state.get("model"), path)
    return model, itos


def evaluate(cfg: Config, ctx: Context) -> dict[str, Any]:
    model, itos = load_model(ctx.model_path, ctx.name, ctx.device)
    data = load_splits(cfg, ctx.data_dir)
    stoi = {ch: i for i, ch in enumerate(itos)}
    te = encode(data["test"], stoi)
    ce = cross_entropy(model, te, ctx.device)
    g = generator(ctx.seed)
    samples: dict[str, str] = {}
    lines = ["| prefix | greedy | sampled (T=%g) |" % cfg.temperature, "|---|---|---|"]
    for p in cfg.prefixes:
        p = p.lower() if cfg.lowercase else p
        greedy = complete(model, itos, p, cfg.sample_len, cfg.temperature, None, ctx.device)
        sampled = [complete(model, itos, p, cfg.sample_len, cfg.temperature, g, ctx.device)
                   for _ in range(cfg.n_samples)]
        samples[p.strip()] = greedy
        lines.append(f"| `{p}` | {greedy} | {' / '.join(sampled)} |")
    write_text(ctx.report_dir / "samples.md", "\n".join(lines) + "\n")
    return {"test_nats_per_char": ce, "test_bits_per_char": ce / math.log(2),
            "test_perplexity_per_char": math.exp(ce), "test_characters": len(te),
            "unk_char_rate": float((te == 0).float().mean()), "greedy_completion": samples}
