"""Data-parallel training on N processes: torchrun + DistributedDataParallel (no DVC here).

A family whose config has `nproc > 1` hands its training loop to `launch`, which runs

    python -m reprozoo.distributed launch N <target> <job dir>
      -> torch.distributed.run (torchrun) --standalone --nproc_per_node=N
           -m reprozoo.distributed worker <target> <job dir>          (N ranks)

Every rank loads the data, takes its part of each global mini-batch (`Group.part`: the
same seeded order on every rank, so the parts are an exact split), and trains the same
model wrapped in DistributedDataParallel (gradients averaged over the ranks: backend gloo
on CPU, nccl on CUDA). Rank 0 hands back the weights, the per-epoch history and the final
numbers; the stage process alone then writes the checkpoint, the figures and the MLflow
run, exactly as after a 1-process run. Ranks write nothing else. A rank that fails writes
its one-line message; torchrun stops the others; `launch` raises `TrainingError` naming
the first rank that failed, and the stage leaves no partial output (runner's staging).

With `nproc = 1` nothing here runs and training is bit-identical to before.
Determinism: for a fixed N the ranks' sums are reduced in a fixed order (gloo's ring), so
N-process runs are repeatable run to run on one machine; their numbers differ from the
1-process run within the tolerance recorded in reports/bench/ddp.json.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reprozoo.errors import ConfigError, TrainingError

FAIL_RANK_ENV = "REPROZOO_DDP_FAIL_RANK"  # tests: make this rank fail right after start-up


@dataclasses.dataclass(frozen=True)
class Group:
    """This process's place among the training processes (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def part(self, batch: Any) -> Any:
        """This rank's share of a global batch (a tensor or a list): items rank, rank+N, ..."""
        return batch if self.world == 1 else batch[self.rank::self.world]

    def usable(self, batch_len: int) -> bool:
        """Whether every rank gets at least one item of a batch of this length."""
        return batch_len >= self.world

    def steps(self, n: int, batch_size: int) -> int:
        """Optimizer steps in one epoch of `n` items at `batch_size`: the batches every
        rank gets a share of (what a per-batch schedule such as a cosine counts)."""
        return sum(1 for i in range(0, n, batch_size) if self.usable(min(batch_size, n - i)))

    def wrap(self, model: Any) -> Any:
        """The model as the training loop should call it (DDP when there are several ranks)."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        dev = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    def sum(self, t: Any) -> Any:
        """The sum of `t` over the ranks (in place; `t` itself when alone)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(t)
        return t


SINGLE = Group()


def check_nproc(nproc: int, batch_size: int) -> None:
    if nproc > 1 and batch_size < nproc:
        raise ConfigError(f"nproc = {nproc} but batch_size = {batch_size}: each process needs at "
                          f"least one example of every batch (set batch_size >= nproc, or nproc: 1)")


def job_for(cfg: Any, ctx: Any, **extra: Any) -> dict[str, Any]:
    """What every rank needs to rebuild the family's training: its config, seed, device
    kind, name and data folder, plus `extra` (e.g. the initial weights)."""
    return {"cfg": cfg, "seed": ctx.seed, "device": ctx.device.type, "name": ctx.name,
            "profile": ctx.profile, "data_dir": ctx.data_dir, **extra}


def worker_context(job: dict[str, Any], rt: Any) -> Any:
    """A Context for a rank: the family's name, data and runtime; nowhere to write."""
    from reprozoo.context import Context

    return Context(name=job["name"], profile=job["profile"], data_dir=job["data_dir"],
                   model_dir=Path(os.devnull), report_dir=Path(os.devnull), runtime=rt)


def absorb(ctx: Any, history: list[dict[str, float]]) -> None:
    """Log rank 0's per-epoch history in the stage's context (MLflow steps, history.csv)."""
    for row in history:
        row = dict(row)
        ctx.log_step(int(row.pop("step")), **row)


def stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not exited after `grace` s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch(target: str, job: dict[str, Any], nproc: int, *, threads: int | None = None) -> dict[str, Any]:
    """Run `target` ("package.module:function", called as function(job, runtime, group)
    on every rank) on `nproc` processes under torchrun; return rank 0's result (a dict).

    `job` must be loadable by torch.load (tensors, plain containers, numbers, strings).
    `threads`: torch CPU threads of each rank (default: this process's count / nproc)."""
    import torch

    jobdir = Path(tempfile.mkdtemp(prefix="reprozoo-ddp-"))
    try:
        torch.save(job, jobdir / "job.pt")
        env = dict(os.environ)
        env["REPROZOO_DDP_THREADS"] = str(threads or max(1, torch.get_num_threads() // nproc))
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "reprozoo.distributed", "launch", str(nproc), target, str(jobdir)]
        print(f"training on {nproc} processes: torchrun --standalone --nproc_per_node={nproc}",
              file=sys.stderr, flush=True)
        proc = subprocess.Popen(cmd, env=env)
        try:
            code = proc.wait()
        except BaseException:  # Ctrl-C / SIGTERM of the stage: stop torchrun and its ranks
            stop(proc)
            raise
        result_file = jobdir / "result.pt"
        if code != 0 or not result_file.is_file():
            raise TrainingError(_failure(jobdir, nproc, code))
        return torch.load(result_file, map_location="cpu", weights_only=False)
    finally:
        shutil.rmtree(jobdir, ignore_errors=True)


def _failure(jobdir: Path, nproc: int, code: int) -> str:
    """The message of the rank that failed first (by the time it wrote it)."""
    reports = []
    for f in jobdir.glob("rank*.err"):
        when, _, msg = f.read_text("utf-8", errors="replace").partition("\n")
        reports.append((float(when or "inf"), int(f.stem[4:]), msg.strip()))
    if not reports:
        return (f"distributed training on {nproc} processes failed (torchrun exit code {code}) "
                "before any rank reported an error")
    _, rank, msg = min(reports)
    return f"distributed training failed on rank {rank} of {nproc}: {msg}"


# ------------------------------------------------------------ the processes torchrun runs

def _launcher(nproc: int, target: str, jobdir: str) -> int:
    """torchrun, in-process, without its own failure dump (the stage prints one line)."""
    os.environ.setdefault("LOGLEVEL", "CRITICAL")  # torchelastic's logger reads it
    import logging

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = get_args_parser().parse_args(
        ["--standalone", f"--nproc_per_node={nproc}", "--max_restarts=0",
         "-m", "reprozoo.distributed", "worker", target, jobdir])
    try:
        run(args)
    except ChildFailedError:
        return 1
    return 0


def _worker(target: str, jobdir: str) -> int:
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if rank != 0:  # one voice: only rank 0 shows progress and messages
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
    try:
        import torch
        import torch.distributed as dist

        from reprozoo import runtime

        torch.set_num_threads(int(os.environ.get("REPROZOO_DDP_THREADS", "1")))
        job = torch.load(Path(jobdir) / "job.pt", map_location="cpu", weights_only=False)
        rt = runtime.setup(job["seed"], job["device"])
        if rt.is_cuda:
            dev = torch.device("cuda", local)
            torch.cuda.set_device(dev)
            rt = dataclasses.replace(rt, device=dev)
        dist.init_process_group("nccl" if rt.is_cuda else "gloo")
        group = Group(rank=rank, world=world)
        torch.manual_seed(job["seed"] + rank)  # dropout masks differ between the ranks' parts
        if os.environ.get(FAIL_RANK_ENV) == str(rank):
            raise TrainingError(f"failure injected by {FAIL_RANK_ENV}={rank}")
        module, _, fn = target.partition(":")
        result = getattr(importlib.import_module(module), fn)(job, rt, group)
        if group.is_main:
            torch.save(result, Path(jobdir) / "result.pt.partial")
            os.replace(Path(jobdir) / "result.pt.partial", Path(jobdir) / "result.pt")
        dist.barrier()
        dist.destroy_process_group()
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure becomes this rank's one line
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if not isinstance(exc, TrainingError | ConfigError):
            msg = f"{type(exc).__name__}: {msg}"
        (Path(jobdir) / f"rank{rank}.err").write_text(f"{time.time()!r}\n{msg}\n", "utf-8")
        return 1


def _main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "launch":
        return _launcher(int(argv[1]), argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "worker":
        return _worker(argv[1], argv[2])
    print("usage: python -m reprozoo.distributed launch N module:function JOBDIR\n"
          "       python -m reprozoo.distributed worker module:function JOBDIR  (run by torchrun)\n"
          "Internal: the families call reprozoo.distributed.launch when their nproc > 1.",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
