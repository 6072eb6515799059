"""The multiplication network: x·y for x, y ∈ 1..100 from a learned log, an Add, a learned exp.

Source: seed article 000. A log-approximating net (1→4→4→4→1, ReLU) is applied to both
operands (shared weights), its two outputs are added, and an exp-approximating net
(1→4→4→4→1, ReLU) maps the sum to the product. Inputs are scaled by 1/100 and the product
by 1/10,000. The article needed about 20 restarts to get a working net and it still
failed on one-digit operands (7×82 → 302, 17×2 → 302).

Variants, each trained for `seeds` seeds at once (the seeds are a batch dimension: every
weight tensor is (S, in, out), so one step trains all of them):

- ``faithful``: the article's net trained end to end on the scaled product with MSE
  (our reading of the article: one Keras model, Add joining the two subnets).
- ``reliable``: the same log → Add → exp structure, made trainable: each subnet is first
  fitted on its own log-domain target (the log net on ln x / ln 100, the exp net on
  ln(xy) / ln 10,000 as a function of that sum, followed by a fixed exp), inputs are standardized per subnet, ReLU layers
  get He init with a small positive bias (no dead units at the start), hidden layers are
  `hidden_reliable` wide, and the whole net is then fine-tuned on the squared log error
  (≈ relative error²), so one-digit products weigh as much as large ones.

- ``nac_mul``: the compared neural-arithmetic variant, NALU's multiplicative path
  (Trask et al. 2018): ŷ/N² = exp(w₁ ln(x/N) + w₂ ln(y/N)) with learned w (S, 2), i.e.
  the log and exp subnets replaced by fixed log/exp and the Add by a learned weighted sum
  (weights left unconstrained: NALU's tanh·σ bound only slows the approach to w = 1).

A seed "converges" when its median relative error over all 10,000 pairs is ≤ 1 % and its
90th percentile ≤ 5 % (the issue's target for the reliable variant).

Default profile (20 seeds each, CPU): see the report for the measured success rates
(`python pipelines/train.py multnet && python pipelines/evaluate.py multnet`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from reprozoo import checkpoint, plots
from reprozoo.config import param, to_dict
from reprozoo.context import Context
from reprozoo.errors import CheckpointError, ConfigError
from reprozoo.metrics import check_finite
from reprozoo.runtime import generator

N = 100            # operands 1..N
LOG_N = math.log(N)
VARIANTS = ("faithful", "reliable", "nac_mul")
CONVERGED = {"median": 0.01, "p90": 0.05}  # relative-error thresholds for "converged"


@dataclasses.dataclass(frozen=True)
class Config:
    variants: tuple[str, ...] = ("faithful", "reliable", "nac_mul")
    seeds: int = param(20, gt=0, doc="independent restarts per variant")
    hidden: int = param(4, gt=0, doc="hidden width of the faithful subnets (article: 4)")
    steps: int = param(2000, gt=0, doc="faithful: Adam steps on all 10,000 pairs")
    lr: float = param(0.01, gt=0.0, doc="faithful: Adam step size")
    hidden_reliable: int = param(16, gt=0, doc="hidden width of the reliable subnets")
    pretrain_steps: int = param(1000, gt=0, doc="reliable: Adam steps per subnet on its own target")
    finetune_steps: int = param(300, ge=0, doc="reliable: end-to-end Adam steps on relative error")
    lr_reliable: float = param(0.003, gt=0.0, doc="reliable: Adam step size (cosine-decayed)")
    nac_steps: int = param(500, gt=0, doc="nac_mul: Adam steps (lr 0.05) on all pairs")

    def __post_init__(self) -> None:
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ConfigError(f"multnet.variants = {list(self.variants)}: choose from {', '.join(VARIANTS)}")


# ---------------------------------------------------------------- batched MLP (S seeds)
def init_mlp(sizes: tuple[int, ...], seeds: int, g: torch.Generator, bias: float = 0.0) -> list[torch.Tensor]:
    """He-normal weights (S, in, out) and constant biases (S, 1, out) for each layer."""
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params.append(torch.randn(seeds, i, o, generator=g, dtype=torch.float64) * math.sqrt(2.0 / i))
        params.append(torch.full((seeds, 1, o), bias, dtype=torch.float64))
    return params


def mlp(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """ReLU MLP with a linear output; x (S, B, in) → (S, B, out)."""
    n = len(params) // 2
    for k in range(n):
        x = torch.baddbmm(params[2 * k + 1], x, params[2 * k])
        if k < n - 1:
            x = torch.relu(x)
    return x


def grid() -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs (x, y) ∈ 1..100², as float64 vectors of length 10,000 (x slow, y fast)."""
    v = torch.arange(1, N + 1, dtype=torch.float64)
    return v.repeat_interleave(N), v.repeat(N)


@dataclasses.dataclass
class Model:
    """One variant's weights for all seeds plus its fixed input/output scaling."""

    variant: str
    log_params: list[torch.Tensor]
    exp_params: list[torch.Tensor]
    # reliable: standardization of the log net's input (x/N) and the exp net's input (sum)
    in_shift: float = 0.0
    in_scale: float = 1.0
    log_output: bool = False  # reliable: the exp net outputs ln(xy)/ln N², exp applied after

    def predict(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Products for operand vectors x, y (B,) → (S, B) in natural units."""
        s = self.log_params[0].shape[0]
        u = torch.stack([x, y]) / N                         # (2, B) scaled 0..1 (article)
        u = ((u - self.in_shift) / self.in_scale).reshape(1, -1, 1).expand(s, -1, -1)
        logs = mlp(self.log_params, u).reshape(s, 2, -1)    # (S, 2, B)
        total = logs.sum(dim=1, keepdim=True).transpose(1, 2)  # Add layer → (S, B, 1)
        out = mlp(self.exp_params, total)[..., 0]              # (S, B)
        if self.log_output:
            return torch.exp(out * 2 * LOG_N)
        return out * N * N

    def state(self) -> dict:
        return {"log": list(self.log_params), "exp": list(self.exp_params),
                "in_shift": self.in_shift, "in_scale": self.in_scale, "log_output": self.log_output}


def _adam(params: list[torch.Tensor], loss_fn, steps: int, lr: float, cosine: bool = False,
          tag: str = "") -> list[float]:
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    losses = []
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        if step % max(1, steps // 20) == 0 or step == steps - 1:
            losses.append(check_finite(loss.item(), step, f"{tag} loss"))
    for p in params:
        p.requires_grad_(False)
    return losses


def train_faithful(cfg: Config, g: torch.Generator) -> tuple[Model, list[float]]:
    h = cfg.hidden
    model = Model("faithful", init_mlp((1, h, h, h, 1), cfg.seeds, g),
                  init_mlp((1, h, h, h, 1), cfg.seeds, g))
    x, y = grid()
    target = (x * y / (N * N)).expand(cfg.seeds, -1)

    def loss_fn():  # MSE on the product scaled by 1/10,000 (the article)
        return ((model.predict(x, y) / (N * N) - target) ** 2).mean(dim=1).sum()

    return model, _adam(model.log_params + model.exp_params, loss_fn, cfg.steps, cfg.lr, tag="faithful")


def train_reliable(cfg: Config, g: torch.Generator) -> tuple[Model, list[float]]:
    h, s = cfg.hidden_reliable, cfg.seeds
    v = torch.arange(1, N + 1, dtype=torch.float64) / N
    shift, scale = float(v.mean()), float(v.std())
    model = Model("reliable", init_mlp((1, h, h, h, 1), s, g, bias=0.01),
                  init_mlp((1, h, h, h, 1), s, g, bias=0.01), in_shift=shift, in_scale=scale,
                  log_output=True)
    # 1. the log net alone: standardized x/N → ln x / ln N ∈ [0, 1] (log-domain target)
    xin = ((v - shift) / scale).reshape(1, -1, 1).expand(s, -1, -1)
    log_t = (torch.log(v * N) / LOG_N).reshape(1, -1, 1)
    l1 = _adam(model.log_params, lambda: ((mlp(model.log_params, xin) - log_t) ** 2).mean(dim=(1, 2)).sum(),
               cfg.pretrain_steps, cfg.lr_reliable * 3, cosine=True, tag="log net")
    # 2. the exp net alone, in the log domain: the exact sum σ = (ln x + ln y)/ln N ∈ [0, 2]
    #    → ln(xy)/ln N², followed by a fixed exp (`Model.log_output`), so a one-digit
    #    product (1×1 = 1e-4 of the scale) weighs as much as 100×100.
    x, y = grid()
    total = ((torch.log(x) + torch.log(y)) / LOG_N).reshape(1, -1, 1).expand(s, -1, -1)
    log_prod = (torch.log(x * y) / (2 * LOG_N)).reshape(1, -1, 1)
    l2 = _adam(model.exp_params, lambda: ((mlp(model.exp_params, total) - log_prod) ** 2).mean(dim=(1, 2)).sum(),
               cfg.pretrain_steps, cfg.lr_reliable * 3, cosine=True, tag="exp net")
    # 3. end to end on the squared log error of the product (≈ squared relative error)
    l3 = []
    if cfg.finetune_steps:
        lxy = torch.log(x * y)
        l3 = _adam(model.log_params + model.exp_params,
                   lambda: ((torch.log(model.predict(x, y)) - lxy) ** 2).mean(dim=1).sum(),
                   cfg.finetune_steps, cfg.lr_reliable, cosine=True, tag="fine-tune")
    return model, l1 + l2 + l3


class NacMul:
    """NALU's multiplicative path for S seeds: ŷ = N² · exp(w · ln(u)), u = (x, y)/N."""

    variant = "nac_mul"

    def __init__(self, w: torch.Tensor):
        self.w = w  # (S, 2)

    def predict(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        lu = torch.log(torch.stack([x, y]) / N)            # (2, B)
        return torch.exp(self.w @ lu) * N * N               # (S, B)

    def state(self) -> dict:
        return {"w": self.w}


def train_nac(cfg: Config, g: torch.Generator) -> tuple[NacMul, list[float]]:
    model = NacMul(torch.randn(cfg.seeds, 2, generator=g, dtype=torch.float64) * 0.5)
    x, y = grid()
    lxy = torch.log(x * y)
    loss = lambda: ((torch.log(model.predict(x, y)) - lxy) ** 2).mean(dim=1).sum()  # noqa: E731
    return model, _adam([model.w], loss, cfg.nac_steps, 0.05, cosine=True, tag="nac_mul")


TRAIN = {"faithful": train_faithful, "reliable": train_reliable, "nac_mul": train_nac}


# ---------------------------------------------------------------- scoring
def rel_errors(model: Model | NacMul) -> np.ndarray:
    """(S, 100, 100) relative errors |ŷ − xy| / xy; [s, x−1, y−1]."""
    x, y = grid()
    with torch.no_grad():
        pred = model.predict(x, y)
    return ((pred - x * y).abs() / (x * y)).reshape(-1, N, N).numpy()


def error_table(err: np.ndarray) -> dict:
    """Median relative error by operand size (pooled over the seeds given)."""
    one = np.arange(1, N + 1) < 10                      # one-digit operands
    a, b = np.meshgrid(one, one, indexing="ij")
    cells = {"1digit_x_1digit": a & b, "1digit_x_2digit": a ^ b, "2digit_x_2digit": ~a & ~b}
    return {k: float(np.median(err[:, m])) for k, m in cells.items()}


def summarize(err: np.ndarray) -> dict:
    flat = err.reshape(len(err), -1)
    med, p90 = np.median(flat, axis=1), np.quantile(flat, 0.9, axis=1)
    ok = (med <= CONVERGED["median"]) & (p90 <= CONVERGED["p90"])
    best = int(np.argmin(med))
    out = {"seeds": int(len(err)), "converged": int(ok.sum()), "success_rate": float(ok.mean()),
           "median_rel_err": float(np.median(med)), "p90_rel_err": float(np.median(p90)),
           "best_seed": best, "best_median_rel_err": float(med[best]),
           "best_p90_rel_err": float(p90[best]),
           "error_table_all_seeds": error_table(err), "error_table_best_seed": error_table(err[best:best + 1])}
    if ok.any():
        out["error_table_converged"] = error_table(err[ok])
    return out


def heatmap(err: np.ndarray, path, title: str) -> None:
    fig, ax = plots.figure(figsize=(6, 5))
    im = ax.imshow(np.log10(np.maximum(err, 1e-6)), origin="lower", cmap="viridis", vmin=-4, vmax=1,
                   extent=(0.5, N + 0.5, 0.5, N + 0.5))
    ax.set_xlabel("y")
    ax.set_ylabel("x")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="log10 relative error")
    plots.savefig(fig, path)


# ---------------------------------------------------------------- family API
def train(cfg: Config, ctx: Context) -> dict:
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    final, states = {}, {}
    for i, variant in enumerate(cfg.variants):
        g = generator(ctx.seed + 1000 * i)
        model, losses = TRAIN[variant](cfg, g)
        for k, loss in enumerate(losses):
            ctx.log_step(k, **{f"{variant}_loss": loss})
        summary = summarize(rel_errors(model))
        final[f"{variant}_converged"] = summary["converged"]
        final[f"{variant}_median_rel_err"] = summary["median_rel_err"]
        states[variant] = model.state()
    checkpoint.save(ctx.model_path, family=ctx.name, config=to_dict(cfg), state=states)
    return final


def load_models(cfg: Config, ctx: Context) -> dict[str, Model | NacMul]:
    blob = checkpoint.load(ctx.model_path, family=ctx.name)
    models = {}
    for variant in cfg.variants:
        st = blob["state"].get(variant)
        if st is None:
            raise CheckpointError(f"{ctx.model_path}: no '{variant}' variant in the checkpoint; retrain")
        if variant == "nac_mul":
            if tuple(st["w"].shape) != (cfg.seeds, 2):
                raise CheckpointError(f"{ctx.model_path}: checkpoint does not fit the model (nac_mul)")
            models[variant] = NacMul(st["w"])
            continue
        h = cfg.hidden if variant == "faithful" else cfg.hidden_reliable
        if st["log"][0].shape != (cfg.seeds, 1, h):
            raise CheckpointError(f"{ctx.model_path}: checkpoint does not fit the model ({variant}: "
                                  f"{tuple(st['log'][0].shape)} vs {(cfg.seeds, 1, h)})")
        models[variant] = Model(variant, st["log"], st["exp"], st["in_shift"], st["in_scale"],
                                st["log_output"])
    return models


def evaluate(cfg: Config, ctx: Context) -> dict:
    out = {}
    for variant, model in load_models(cfg, ctx).items():
        err = rel_errors(model)
        summary = summarize(err)
        b = summary["best_seed"]
        with torch.no_grad():
            ex = model.predict(torch.tensor([7.0, 17.0, 3.0], dtype=torch.float64),
                               torch.tensor([82.0, 2.0, 4.0], dtype=torch.float64))[b]
        summary["examples_best_seed"] = {"7x82": float(ex[0]), "17x2": float(ex[1]), "3x4": float(ex[2])}
        flat = err.reshape(len(err), -1)
        order = np.argsort(np.median(flat, axis=1), kind="stable")
        mid = int(order[len(order) // 2])  # the median seed: a typical run, not the best
        heatmap(err[mid], ctx.report_dir / f"rel_error_{variant}.png",
                f"{variant}: relative error |ŷ−xy|/xy, median seed ({mid})")
        heatmap(err[b], ctx.report_dir / f"rel_error_{variant}_best.png",
                f"{variant}: relative error, best seed ({b})")
        out[variant] = summary
    return out
