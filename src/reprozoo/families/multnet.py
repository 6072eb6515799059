"""The multiplication network: x·y for x, y ∈ 1..100 from a learned log, an Add, a learned exp.

Source: seed article 000. A log-approximating net (1→4→4→4→1, ReLU) is applied to both
operands (shared weights), its two outputs are added, and an exp-approximating net
(1→4→4→4→1, ReLU) maps the sum to the product. Inputs are scaled by 1/100 and the product
by 1/10,000. The article needed about 20 restarts to get a working net and it still
failed on one-digit operands (7×82 → 302, 17×2 → 302).

Variants, each trained for `seeds` seeds at once (the seeds are a batch dimension: every
weight tensor is (S, in, out), so one step trains all of them):

- ``faithful``: the article's net trained end to end on the scaled product with MSE
  (our reading of the article: one Keras model, Add joining the two subnets), Adam on
  random minibatches of `batch` pairs.
- ``reliable``: the same log → Add → exp structure and depth (1→h→h→h→1 ReLU subnets,
  h = `hidden_reliable`), made reliable by log-domain targets and a data-dependent init:
  the log net maps x/N → ln x / ln N; its first-layer ReLU knots are log-spaced over
  [1, 100] (jittered per seed), the deeper layers start as the identity (+ small noise), and
  its output layer is solved by least squares on the 100 inputs. The exp net works in the
  log domain: the Add of the *learned* logs σ ∈ [0, 2] → ln(xy)/ln N², knots evenly over
  [0, 2], output layer by least squares on all 10,000 pairs, followed by a fixed exp. No
  gradient steps: Adam fine-tuning from this solution (30 full-batch steps, lr 1e-5 / 1e-4)
  was measured to make it worse (7/20 and 0/20 seeds converged instead of 20/20).
- ``nac_mul``: the compared neural-arithmetic variant, NALU's multiplicative path
  (Trask et al. 2018): ŷ/N² = exp(w₁ ln(x/N) + w₂ ln(y/N)) with learned w (S, 2), i.e.
  the log and exp subnets replaced by fixed log/exp and the Add by a learned weighted sum
  (weights left unconstrained: NALU's tanh·σ bound only slows the approach to w = 1).

A seed "converges" when its median relative error over all 10,000 pairs is ≤ 1 % and its
90th percentile ≤ 5 % (the issue's target for the reliable variant).

Measured (seed 0, CPU, 1 thread; ``python tools/merge_params.py conf/params-A.yaml -o
/tmp/A2.yaml`` with tracking off, then ``python pipelines/train.py multnet --params
/tmp/A2.yaml && python pipelines/evaluate.py multnet --params /tmp/A2.yaml``; train 19 s +
evaluate 5 s wall on the shared 2-core machine; smoke profile 3.8 s + 3.7 s):

- faithful (4000 steps, batch 256): 0/20 converged; median over seeds of the per-seed
  median / p90 relative error 18 % / 118 %; best seed 3.0 % / 37 %, with median error
  280 % on one-digit × one-digit pairs and 2.4 % on two-digit × two-digit pairs — the
  article's failure on one-digit operands (best seed: 17×2 → 76, 7×82 → 583).
- reliable (h = 32): 20/20 converged; median / p90 relative error 0.14 % / 0.36 %
  (worst seed's p90 0.45 %, largest error on any pair 1.1 %); one-digit × one-digit 0.02 %;
  7×82 → 574.7, 17×2 → 34.1.
- nac_mul (500 steps): 20/20 converged, p90 relative error < 2e-7 for every seed (w → (1, 1)).
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
    batch: int = param(1000, gt=0, doc="faithful: pairs per minibatch (10,000 = full batch)")
    hidden_reliable: int = param(32, gt=1, doc="hidden width of the reliable subnets")
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
    log_output: bool = False  # reliable: the exp net outputs ln(xy)/ln N², exp applied after

    def predict(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Products for operand vectors x, y (B,) → (S, B) in natural units."""
        s = self.log_params[0].shape[0]
        u = torch.stack([x, y]) / N                         # (2, B) scaled 0..1 (article)
        u = u.reshape(1, -1, 1).expand(s, -1, -1)
        logs = mlp(self.log_params, u).reshape(s, 2, -1)    # (S, 2, B)
        total = logs.sum(dim=1, keepdim=True).transpose(1, 2)  # Add layer → (S, B, 1)
        out = mlp(self.exp_params, total)[..., 0]              # (S, B)
        if self.log_output:
            return torch.exp(out * 2 * LOG_N)
        return out * N * N

    def state(self) -> dict:
        return {"log": list(self.log_params), "exp": list(self.exp_params),
                "log_output": self.log_output}


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
    batch = min(cfg.batch, len(x))

    def loss_fn():  # MSE on the product scaled by 1/10,000 (the article), on a random minibatch
        i = torch.randint(len(x), (batch,), generator=g) if batch < len(x) else slice(None)
        return ((model.predict(x[i], y[i]) - x[i] * y[i]) ** 2 / N ** 4).mean(dim=1).sum()

    return model, _adam(model.log_params + model.exp_params, loss_fn, cfg.steps, cfg.lr, tag="faithful")


def knot_mlp(lo: float, hi: float, h: int, seeds: int, g: torch.Generator, geometric: bool,
             depth: int = 3, noise: float = 0.01) -> list[torch.Tensor]:
    """Data-dependent init of a 1→h→…→h→1 ReLU net for inputs in [lo, hi].

    First layer: unit k is relu(u − t_k), its knot t_k placed log-spaced (``geometric``) or
    evenly over [lo, hi] and jittered by up to half a spacing per seed; unit 0's knot lies
    below lo, so it carries the linear term. Deeper hidden layers start as the identity
    plus N(0, noise²/h) (the features are ≥ 0, so ReLU passes them through); the output
    layer is left at zero for `fit_output`.
    """
    if geometric:
        base = torch.logspace(math.log10(lo), math.log10(hi), h, dtype=torch.float64)
        step = math.log(hi / lo) / (h - 1)
        t = base * torch.exp((torch.rand(seeds, h, generator=g, dtype=torch.float64) - 0.5) * step)
    else:
        step = (hi - lo) / (h - 1)
        t = torch.linspace(lo, hi, h, dtype=torch.float64) + \
            (torch.rand(seeds, h, generator=g, dtype=torch.float64) - 0.5) * step
    t[:, 0] = lo - (hi - lo)
    params = [torch.ones(seeds, 1, h, dtype=torch.float64), -t.unsqueeze(1)]
    for _ in range(depth - 1):
        w = torch.eye(h, dtype=torch.float64) + \
            noise / math.sqrt(h) * torch.randn(seeds, h, h, generator=g, dtype=torch.float64)
        params += [w, torch.zeros(seeds, 1, h, dtype=torch.float64)]
    return params + [torch.zeros(seeds, h, 1, dtype=torch.float64), torch.zeros(seeds, 1, 1, dtype=torch.float64)]


def fit_output(params: list[torch.Tensor], x: torch.Tensor, target: torch.Tensor, ridge: float = 1e-10) -> None:
    """Solve the linear output layer in closed form (ridge least squares), per seed, in place."""
    f = mlp(params[:-2], x)
    f = torch.relu(f)  # mlp leaves its last layer linear; here that layer is a hidden one
    s, b, h = f.shape
    a = torch.cat([f, torch.ones(s, b, 1, dtype=f.dtype)], dim=2)
    gram = a.transpose(1, 2) @ a + ridge * b * torch.eye(h + 1, dtype=f.dtype)
    sol = torch.linalg.solve(gram, a.transpose(1, 2) @ target.expand(s, b, 1))
    params[-2] = sol[:, :h].clone()
    params[-1] = sol[:, h:].clone()


def train_reliable(cfg: Config, g: torch.Generator) -> tuple[Model, list[float]]:
    h, s = cfg.hidden_reliable, cfg.seeds
    # 1. the log net: x/N (the article's scaling) → ln x / ln N ∈ [0, 1], knots log-spaced
    #    over [0.01, 1], output layer by least squares on the 100 inputs.
    v = torch.arange(1, N + 1, dtype=torch.float64)
    xin = (v / N).reshape(1, -1, 1).expand(s, -1, -1)
    log_t = (torch.log(v) / LOG_N).reshape(1, -1, 1)
    log_params = knot_mlp(1 / N, 1.0, h, s, g, geometric=True)
    fit_output(log_params, xin, log_t)
    # 2. the exp net, in the log domain: the Add of the *learned* logs, σ ∈ [0, 2], →
    #    ln(xy)/ln N², then a fixed exp (`Model.log_output`), so 1×1 weighs as much as
    #    100×100. Knots evenly over [0, 2]; output layer by least squares on all 10,000 pairs.
    model = Model("reliable", log_params, knot_mlp(0.0, 2.0, h, s, g, geometric=False), log_output=True)
    x, y = grid()
    with torch.no_grad():
        logs = mlp(log_params, (torch.stack([x, y]) / N).reshape(1, -1, 1).expand(s, -1, -1))
    total = logs.reshape(s, 2, -1).sum(dim=1).unsqueeze(-1)
    lxy = torch.log(x * y)
    fit_output(model.exp_params, total, (lxy / (2 * LOG_N)).reshape(1, -1, 1))
    # Gradient fine-tuning from here (Adam, lr 1e-5 or 1e-4, 30 full-batch steps end to end)
    # was measured to make it worse (7/20 and 0/20 seeds converged, vs 20/20), so none.
    loss = float(((torch.log(model.predict(x, y)) - lxy) ** 2).mean(dim=1).sum())
    return model, [check_finite(loss, 0, "reliable loss")]


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
    two = flat.reshape(-1, N, N)[:, 9:, 9:].reshape(len(err), -1)  # 10..100 × 10..100 only
    ok2 = (np.median(two, axis=1) <= CONVERGED["median"]) & (np.quantile(two, 0.9, axis=1) <= CONVERGED["p90"])
    out["converged_2digit_pairs_only"] = int(ok2.sum())
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
    torch.set_num_threads(1)  # small matrices: extra threads only spin on a shared CPU
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
        models[variant] = Model(variant, st["log"], st["exp"], log_output=st["log_output"])
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
