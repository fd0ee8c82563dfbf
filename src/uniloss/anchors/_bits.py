"""Packed random configurations: one bit per binary variable, never a dense float matrix."""

from __future__ import annotations

from typing import Any

import torch

_CHUNK_ELEMENTS = 1 << 22  # unpacked entries handled at once (per anchor times row chunk)


def draw(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform floats in ``[0, 1)`` from ``generator`` (on the generator's device), moved to ``device``."""
    source = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=source).to(device)


def random_bytes(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform random bytes of ``shape``: 7 bytes from each 63-bit integer draw (the 8th has a fixed bit)."""
    count = 1
    for size in shape:
        count *= size
    source = generator.device if generator is not None else device
    words = torch.empty(((count + 6) // 7,), dtype=torch.int64, device=source).random_(generator=generator)
    data = words.view(torch.uint8).view(-1, 8)[:, :7].reshape(-1)[:count]
    return data.reshape(shape).to(device)


def _shifts(device: torch.device) -> torch.Tensor:
    return torch.arange(8, dtype=torch.uint8, device=device)


def pack(mask: torch.Tensor) -> torch.Tensor:
    """Pack a ``(..., L)`` bool tensor into ``(..., ceil(L / 8))`` bytes; bit ``j`` of byte ``i`` is entry ``8i + j``."""
    length = mask.shape[-1]
    padded = torch.nn.functional.pad(mask.to(torch.uint8), (0, (-length) % 8))
    padded = padded.view(*mask.shape[:-1], -1, 8)
    return (padded << _shifts(mask.device)).sum(-1, dtype=torch.uint8)


def unpack(packed: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`pack`: ``(..., ceil(L / 8))`` bytes to a ``(..., L)`` uint8 tensor of 0 and 1."""
    bits = (packed.unsqueeze(-1) >> _shifts(packed.device)) & 1
    return bits.flatten(-2)[..., :length]


_POPCOUNT = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.uint8)


def row_counts(packed: torch.Tensor) -> torch.Tensor:
    """Number of set bits in each row of ``(K, R, L8)`` packed bytes, as a ``(K, R)`` int64 tensor."""
    table = _POPCOUNT.to(packed.device)
    return table[packed.long()].sum(-1, dtype=torch.int64)


def _row_chunk(num_anchors: int, length: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, num_anchors * length))


class _PackedDot(torch.autograd.Function):
    """``dots[k] = sum over set bits of anchor k of x``, for packed bits; the backward unpacks them again."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(packed)
        ctx.length = x.shape[1]
        num_anchors, rows = packed.shape[0], x.shape[0]
        out = x.new_zeros(num_anchors)
        step = _row_chunk(num_anchors, x.shape[1])
        for start in range(0, rows, step):
            bits = unpack(packed[:, start : start + step], ctx.length).to(x.dtype)
            out += bits.flatten(1) @ x[start : start + step].flatten()
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:
        (packed,) = ctx.saved_tensors
        num_anchors, rows = packed.shape[0], packed.shape[1]
        grad = grad_out.new_empty(rows, ctx.length)
        step = _row_chunk(num_anchors, ctx.length)
        for start in range(0, rows, step):
            bits = unpack(packed[:, start : start + step], ctx.length).to(grad_out.dtype)
            grad[start : start + step] = (grad_out @ bits.flatten(1)).view(-1, ctx.length)
        return grad, None


def packed_dot(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    """Differentiable ``(K,)`` sums of ``x`` (``(R, L)``) over the set bits of each packed configuration.

    Memory stays at one bit per anchor and binary plus a bounded chunk of unpacked entries.
    """
    out: torch.Tensor = _PackedDot.apply(x, packed)
    return out
