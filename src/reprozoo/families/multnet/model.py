"""The multiplication network's models, batched over S seeds: ReLU MLPs whose weights are
(S, in, out) tensors, the log → Add → exp `Model`, its data-dependent knot init and
closed-form output layer, and NALU's multiplicative path `NacMul`.

Operands x, y ∈ 1..N (N = 100) are scaled by 1/N and products by 1/N² (the article).
Pure: no file I/O, no device choice (everything is float64 on the CPU).
"""

from __future__ import annotations

import dataclasses
import math

import torch

N = 100            # operands 1..N
LOG_N = math.log(N)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    seeds: int            # S: independent restarts, trained as one batch
    hidden: int           # faithful subnets' hidden width (the article: 4)
    hidden_reliable: int  # reliable subnets' hidden width

    def width(self, variant: str) -> int:
        """The hidden width of `variant`'s log and exp subnets."""
        return self.hidden if variant == "faithful" else self.hidden_reliable


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
