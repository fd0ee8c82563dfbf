"""Worker of the two-process DDP tests (a module-level function, so spawned processes can import it)."""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

import uniloss


def make_problem(task: str):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(13, 4, generator=g)
    if task == "ap":
        labels = (torch.rand(13, generator=g) < 0.4).long()
        labels[0], labels[-1] = 1, 1
        return features, labels, uniloss.metrics.AveragePrecision(), 1
    labels = torch.randint(0, 3, (13,), generator=g)
    return features, labels, uniloss.metrics.Accuracy(num_classes=3), 3


def make_model(outputs: int) -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Linear(4, outputs)


def forward(model: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
    out = model(features)
    return out.squeeze(1) if out.shape[1] == 1 else out


def worker(rank: int, world: int, task: str, split: int, out_dir: str, seeded: bool) -> None:
    store = "file://" + os.path.join(out_dir, "store")  # a file rendezvous: no port to race for
    timeout = datetime.timedelta(seconds=120)
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world, timeout=timeout)
    try:
        features, labels, metric, outputs = make_problem(task)
        part = slice(0, split) if rank == 0 else slice(split, None)
        model = torch.nn.parallel.DistributedDataParallel(make_model(outputs))
        generator = torch.Generator().manual_seed(0) if seeded else None
        criterion = uniloss.UniLoss(metric, generator=generator, distributed=True)
        loss = criterion(forward(model, features[part]), labels[part])
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        torch.save({"loss": loss.detach(), "grads": grads}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
    os._exit(0)  # success: skip interpreter teardown, where a lingering gloo thread has been seen to hang
