"""Runs over several processes: spawned (``nproc``), under ``torchrun``, and the process group's helpers.

These functions take the function that trains one process (``target(config, progress, device) -> history``) as
an argument, so that this module does not import the loop that calls it.
"""

from __future__ import annotations

import datetime
import json
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from uniloss_lab.train.builders import resolve_device
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.history import HISTORY_NAME

__all__ = ["ProcessTarget", "broadcast_float", "train_processes", "train_torchrun", "world"]

ProcessTarget = Callable[[TrainConfig, bool, torch.device], dict[str, Any]]
"""The run of one process: ``target(config, progress, device)`` returns its history."""


def world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, or ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def broadcast_float(value: float, device: torch.device) -> float:
    """Process 0's ``value`` on every process."""
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor)


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def train_processes(config: TrainConfig, progress: bool, target: ProcessTarget) -> dict[str, Any]:
    """Run ``target`` in ``config.nproc`` processes (spawned, with a file rendezvous); return process 0's history."""
    import torch.multiprocessing as mp

    device = resolve_device(config.device)
    if device.type == "cuda":
        if config.device not in ("auto", "cuda"):
            raise ValueError(
                "`device` must be 'cuda' or 'auto' when `nproc` > 1 (process r uses cuda:r), "
                f"but got {config.device!r}."
            )
        if torch.cuda.device_count() < config.nproc:
            raise ValueError(
                f"`nproc` must be at most the number of CUDA devices ({torch.cuda.device_count()}) with nccl, but got "
                f"{config.nproc}; use `device` 'cpu' for CPU processes."
            )
    with tempfile.TemporaryDirectory(prefix="uniloss-train-") as name:
        folder = Path(name)
        try:
            mp.start_processes(
                _process_main,
                args=(target, config, progress, device.type, str(folder), os.getpid()),
                nprocs=config.nproc,
                start_method="spawn",
            )
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as failure:
            error = _worker_error(folder, config.nproc)
            if error is not None:
                raise error from None
            raise RuntimeError(f"a training process failed: {failure}") from failure
        return dict(json.loads((folder / HISTORY_NAME).read_text()))


def train_torchrun(config: TrainConfig, progress: bool, target: ProcessTarget) -> dict[str, Any]:
    """The run of one process started by ``torchrun`` (``WORLD_SIZE`` > 1): join its group from the environment."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(config.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    torch.set_num_threads(config.threads or max(1, _cpu_count() // local_world))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(minutes=30))
    try:
        return target(config, progress and dist.get_rank() == 0, device)
    finally:
        dist.destroy_process_group()


def _process_main(
    rank: int, target: ProcessTarget, config: TrainConfig, progress: bool, device_type: str, folder: str, parent: int
) -> None:
    """Entry point of process ``rank`` of :func:`train_processes`."""
    _exit_with_parent(parent)
    world = config.nproc
    if device_type == "cuda":
        torch.cuda.set_device(rank)
        device, backend = torch.device("cuda", rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    torch.set_num_threads(config.threads or max(1, _cpu_count() // world))
    dist.init_process_group(
        backend,
        init_method=(Path(folder) / "rendezvous").as_uri(),
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(minutes=30),
    )
    try:
        history = target(config, progress and rank == 0, device)
        if rank == 0:
            (Path(folder) / HISTORY_NAME).write_text(json.dumps(history, allow_nan=True))
    except BaseException as error:
        _save_worker_error(Path(folder), rank, error)
        raise
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # success: skip interpreter teardown, where a lingering gloo thread has been seen to hang


def _exit_with_parent(parent: int) -> None:
    """On Linux, have this process killed with its parent: a killed run leaves no orphan writing checkpoints."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _save_worker_error(folder: Path, rank: int, error: BaseException) -> None:
    """Pickle a worker's exception for the parent, which raises it again (a private temporary folder)."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
    except Exception:
        data = pickle.dumps(RuntimeError(f"training process {rank} failed: {type(error).__name__}: {error}"))
    (folder / f"error-{rank}.pickle").write_bytes(data)


def _worker_error(folder: Path, world: int) -> BaseException | None:
    """The exception of the lowest rank that saved one, or ``None``."""
    for rank in range(world):
        path = folder / f"error-{rank}.pickle"
        if path.is_file():
            error = pickle.loads(path.read_bytes())  # written by our own worker into our own temporary folder
            if isinstance(error, BaseException):
                return error
    return None
