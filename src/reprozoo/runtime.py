"""One place for seeds, determinism and device choice; called once per stage."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import random
import sys
from collections.abc import Iterator
from typing import Any

from reprozoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Runtime:
    seed: int
    device: Any  # torch.device
    deterministic: bool

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def describe(self) -> dict[str, str]:
        """Identity tags: device, library versions, seed (logged with every run)."""
        import numpy
        import torch

        info = {
            "seed": str(self.seed),
            "device": str(self.device),
            "deterministic": str(self.deterministic).lower(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "cuda": torch.version.cuda or "none",
            "torch_threads": str(torch.get_num_threads()),
        }
        if self.is_cuda:
            info["gpu"] = torch.cuda.get_device_name(self.device)
        info.update(cpu_identity())
        return info


def cpu_identity() -> dict[str, str]:
    """The CPU, the kernel set torch uses on it, and the pins in force (reprozoo.cpu_pins)."""
    import torch

    from reprozoo.cpu_pins import PINS

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu.model": model, "cpu.capability": torch.backends.cpu.get_cpu_capability(),
            **{f"cpu.{k}": os.environ.get(k, "(unset)") for k in PINS}}


def choose_device(pref: str) -> Any:
    import torch

    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device = 'cuda' but no CUDA device is visible to torch; "
                              "set device: auto or cpu in params.yaml")
        return torch.device("cuda")
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    raise ConfigError(f"device = {pref!r}: choose one of auto, cpu, cuda")


@contextlib.contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch CPU threads (0: leave torch's default), then restore.

    CPU kernels are bit-reproducible only for a fixed thread count: the split of a
    reduction across threads changes its rounding. For a family whose training amplifies
    rounding (a GAN), pinning the count makes its outputs the same on every machine."""
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's global RNGs, and torch's when torch is loaded: a stage
    that never imports torch (fetch, prepare) does not pay its 2 s import to seed it."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)  # also seeds every CUDA device


def setup(seed: int, device: str = "auto", deterministic: bool = True) -> Runtime:
    """Seed Python, NumPy and torch (CPU and CUDA), pick the device, pin determinism.

    On CPU the same inputs then give bit-identical outputs; on CUDA deterministic
    kernels are requested (cuBLAS needs CUBLAS_WORKSPACE_CONFIG set before first use).
    """
    import torch

    dev = choose_device(device)
    if deterministic and dev.type == "cuda":
        # CPU kernels are already deterministic for a fixed thread count; the switch below
        # costs ~2 s of imports (torch._dynamo), so it is only paid where it matters.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    from reprozoo import eager

    eager.install()  # no torch._dynamo import from the optimizers (~2.4 s per stage)
    seed_everything(seed)
    return Runtime(seed=seed, device=dev, deterministic=deterministic)


def generator(seed: int, device: Any = "cpu") -> Any:
    """A private torch RNG so one family's draws never shift another's."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g
