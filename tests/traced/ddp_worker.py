"""Worker of the two-process test of a from_function metric under distributed=True (importable by spawn)."""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

import uniloss
from tests.traced import zoo


def problem():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(13, 4, generator=g)
    labels = (torch.rand(13, generator=g) < 0.4).long()
    labels[0], labels[-1] = 1, 1
    torch.manual_seed(1)
    return features, labels, torch.nn.Linear(4, 1)


def worker(rank: int, world: int, split: int, out_dir: str) -> None:
    store = "file://" + os.path.join(out_dir, "store")
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world, timeout=datetime.timedelta(120))
    try:
        features, labels, linear = problem()
        part = slice(0, split) if rank == 0 else slice(split, None)
        model = torch.nn.parallel.DistributedDataParallel(linear)
        metric = uniloss.from_function(zoo.average_precision)
        criterion = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0), distributed=True)
        loss = criterion(model(features[part]).squeeze(1), labels[part])
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        torch.save({"loss": loss.detach(), "grads": grads}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
    os._exit(0)
