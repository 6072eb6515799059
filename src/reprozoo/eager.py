"""Eager-mode optimizers that do not import the compiler.

torch.optim wraps each optimizer's `step` (and a few helpers) for torch.compile's sake: the
wrappers import `torch._dynamo` on first use (about 2.4 s on this project's CPU, a third of
a small stage) only to insert graph breaks and mark methods as not-to-be-compiled, which do
nothing in eager mode. No reprozoo family compiles, so `install()` swaps those wrappers for
their eager meaning: the step runs with grad mode set to the optimizer's `differentiable`
flag, exactly as the wrapper does, and the not-to-be-compiled marks are set without the
import. The arithmetic is untouched (tests/test_runtime.py checks bit-identical parameters
and that torch._dynamo stays unloaded). If torch's internals are not as expected, or the
compiler is already loaded, nothing is changed.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

_DONE = False


def _eager_step(func: Any) -> Any:
    import torch

    @functools.wraps(func)
    def step(self: Any, *args: Any, **kwargs: Any) -> Any:
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return func(self, *args, **kwargs)

    step.__reprozoo_eager__ = True
    return step


def _classes() -> list[type]:
    import torch.optim
    import torch.optim.lr_scheduler

    out: list[type] = []
    for module in (torch.optim, torch.optim.lr_scheduler):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)):
                out.append(obj)
    return out


def install() -> bool:
    """Patch once per process; returns whether the eager wrappers are in place."""
    global _DONE
    if _DONE:
        return True
    if "torch._dynamo" in sys.modules:
        return False
    for cls in _classes():
        for name, attr in list(vars(cls).items()):
            inner = getattr(attr, "__wrapped__", None)
            if inner is None or not callable(attr):
                continue
            code = getattr(attr, "__code__", None)
            if code is None:
                continue
            if code.co_name == "_use_grad" and code.co_filename.endswith("optimizer.py"):
                setattr(cls, name, _eager_step(inner))
            elif code.co_name == "inner" and code.co_filename.endswith("_compile.py"):
                # the wrapper looks for this cached "disabled" function before importing
                inner.__dynamo_disable = inner
    _DONE = True
    return True
