"""Train the paper's AP model with UniLoss on the global batch of several processes.

One machine, two processes on the CPU (gloo):

    torchrun --nproc-per-node 2 examples/ddp_train.py

Several machines (run on each, with its own --node-rank; nccl is chosen on CUDA):

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 8 --master-addr HOST --master-port 29500 \
        examples/ddp_train.py

Each rank draws its own part of every batch; ``UniLoss(..., distributed=True)`` gathers the scores and
labels of all ranks, so AP is computed on the global batch, and DDP's gradient averaging gives each
parameter the gradient of that global loss.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from sklearn.datasets import load_digits

import uniloss
from uniloss_lab.models import MLP


def main() -> None:
    """Run the example."""
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if backend == "nccl" else "cpu")

    digits = load_digits()
    features = torch.tensor(digits.data, dtype=torch.float32, device=device) / 16
    labels = torch.tensor(digits.target == 0, dtype=torch.long, device=device)

    torch.manual_seed(0)  # the same initial weights on every rank
    model = torch.nn.parallel.DistributedDataParallel(MLP(in_features=64, hidden=(64, 32)).to(device))
    criterion = uniloss.UniLoss(uniloss.metrics.AveragePrecision(), distributed=True)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(1)  # the same permutation on every rank; each takes its slice
    for epoch in range(3):
        permutation = torch.randperm(len(labels), generator=order).to(device)
        for start in range(0, len(labels) - 64 * world + 1, 64 * world):  # whole global batches only
            batch = permutation[start : start + 64 * world][rank::world]
            loss = criterion(model(features[batch]), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            ap = uniloss.exact.average_precision(model.module(features), labels)
        if rank == 0:
            print(f"epoch {epoch}: loss of the last global batch {loss.item():.4f}, AP on all digits {ap.item():.4f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
