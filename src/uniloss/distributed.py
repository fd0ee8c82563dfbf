"""Gather a batch from every rank with the local gradient kept, so the loss is the global batch's metric."""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

__all__ = ["broadcast_seed", "gather", "is_distributed"]


def is_distributed() -> bool:
    """Whether a process group with more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllGather(torch.autograd.Function):
    """Stack equal-sized tensors of every rank; the backward sums the gradients of all ranks for the local part."""

    @staticmethod
    def forward(ctx: Any, local: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(local) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, local.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[dist.get_rank()]


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dimension 0, in rank order; sizes may differ.

    Formally ``gather(x)`` is ``cat([x_0, ..., x_{W-1}])``. When ``tensor`` requires a gradient the gather is
    differentiable: the gradient that reaches rank ``r``'s input is the sum over
    ranks of the gradients of their outputs w.r.t. ``x_r``. When every rank computes the same loss of the
    gathered batch, that is ``W`` times its gradient, and DDP's averaging over ``W`` ranks then gives each
    parameter exactly the gradient of the single-process loss on the concatenated batch.

    Args:
        tensor: ``(N_r, ...)`` tensor of this rank; the trailing dimensions must agree across ranks.

    Returns:
        ``(sum_r N_r, ...)`` tensor.
    """
    world = dist.get_world_size()
    size = torch.tensor([tensor.shape[0]], device=tensor.device, dtype=torch.long)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    counts = [int(s) for s in sizes]
    padding = max(counts) - tensor.shape[0]
    is_bool = tensor.dtype == torch.bool
    local = tensor.to(torch.uint8) if is_bool else tensor
    if padding:
        local = torch.cat([local, local.new_zeros((padding, *local.shape[1:]))])
    if local.requires_grad:
        parts = list(_AllGather.apply(local).unbind(0))
    else:
        parts = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(parts, local.contiguous())
    out = torch.cat([part[:count] for part, count in zip(parts, counts, strict=True)])
    return out.bool() if is_bool else out


def broadcast_seed(generator: torch.Generator | None, device: torch.device) -> int:
    """A seed drawn on rank 0 (from ``generator`` or the default generator) and shared with every rank."""
    seed = torch.randint(0, 2**62, (1,), generator=generator, device=generator.device if generator else "cpu")
    seed = seed.to(device)
    dist.broadcast(seed, src=0)
    return int(seed)
