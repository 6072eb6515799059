"""Progress display: a tqdm bar on a terminal, plain periodic lines otherwise (CI, logs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class _Lines:
    """The non-terminal fallback: one line at start, every ~10 %, and at the end."""

    def __init__(self, total: int | None, desc: str, every: float = 0.1):
        self.total, self.desc, self.n = total, desc, 0
        self.step = max(1, int((total or 10) * every))
        self.t0 = time.perf_counter()
        self.postfix = ""
        self._emit()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n // self.step != (self.n - n) // self.step or (self.total and self.n >= self.total):
            self._emit()

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = " ".join(f"{k}={_fmt(v)}" for k, v in kw.items())

    def write(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def _emit(self) -> None:
        el = time.perf_counter() - self.t0
        of = f"/{self.total}" if self.total else ""
        eta = ""
        if self.total and self.n:
            eta = f" eta {el / self.n * (self.total - self.n):.0f}s"
        print(f"{self.desc}: {self.n}{of} [{el:.0f}s{eta}] {self.postfix}".rstrip(),
              file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def bar(total: int | None = None, desc: str = "", unit: str = "it") -> Any:
    """A progress object with update(n), set_postfix(**kw), write(msg), close()."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True)
    return _Lines(total, desc)


def track(it: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    if total is None and hasattr(it, "__len__"):
        total = len(it)  # type: ignore[arg-type]
    pb = bar(total, desc, unit)
    try:
        for x in it:
            yield x
            pb.update(1)
    finally:
        pb.close()
