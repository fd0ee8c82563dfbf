"""Packed random configurations: one bit per binary variable, never a dense float matrix."""

from __future__ import annotations

from typing import Any

import torch


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
    """Pack ``(..., L)`` bools into ``(..., ceil(L / 8))`` bytes; bit ``j`` of byte ``i`` is entry ``8i + j``."""
    length = mask.shape[-1]
    padded = torch.nn.functional.pad(mask.to(torch.uint8), (0, (-length) % 8))
    padded = padded.view(*mask.shape[:-1], -1, 8)
    return (padded << _shifts(mask.device)).sum(-1, dtype=torch.uint8)


def unpack(packed: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`pack`: ``(..., ceil(L / 8))`` bytes to a ``(..., L)`` uint8 tensor of 0 and 1."""
    bits = (packed.unsqueeze(-1) >> _shifts(packed.device)) & 1
    return bits.flatten(-2)[..., :length]


def row_counts(packed: torch.Tensor) -> torch.Tensor:
    """Number of set bits in each row of ``(K, R, L8)`` packed bytes, as a ``(K, R)`` int64 tensor."""
    bits = packed - ((packed >> 1) & 0x55)
    bits = (bits & 0x33) + ((bits >> 2) & 0x33)
    bits = (bits + (bits >> 4)) & 0x0F
    return bits.sum(-1, dtype=torch.int64)


_BYTES_PER_CHUNK = 1 << 14  # byte positions handled at once


def _nibbles(packed: torch.Tensor) -> torch.Tensor:
    """``(K, m)`` bytes to ``(2m, K)`` int64 nibble codes: low nibble of byte ``j`` at ``2j``, high at ``2j + 1``."""
    return torch.stack([packed & 15, packed >> 4], dim=-1).flatten(1).T.long()


def _pattern_sums(x4: torch.Tensor) -> torch.Tensor:
    """``(m, 4)`` to ``(m, 16)``: column ``v`` is the sum of the entries whose bit is set in ``v``.

    Built by doubling (no BLAS), so the result does not depend on threads or memory alignment.
    """
    out = x4.new_empty(x4.shape[0], 16)
    out[:, 0] = 0
    for bit in range(4):
        width = 1 << bit
        torch.add(out[:, :width], x4[:, bit : bit + 1], out=out[:, width : 2 * width])
    return out


def _pattern_sums_adjoint(weights: torch.Tensor) -> torch.Tensor:
    """The transpose of :func:`_pattern_sums`: ``(m, 16)`` weights of the patterns to ``(m, 4)`` gradients."""
    weights = weights.clone()
    grad = weights.new_empty(weights.shape[0], 4)
    for bit in reversed(range(4)):
        width = 1 << bit
        upper = weights[:, width : 2 * width]
        grad[:, bit] = upper.sum(1)
        weights[:, :width] += upper
    return grad


def masked_sums(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    """``(K,)`` sums of ``x`` (``(R, L)``) over the set bits of each packed configuration (``(K, R, L8)``).

    Through a 4-bit lookup table: for each group of 4 entries of ``x`` the sums over all 16 bit patterns are
    built once and each anchor gathers the sum of its own pattern. Work is O(binaries * (4 + anchors / 4)),
    never a float matrix of anchors by binaries, and deterministic. Not differentiable (see :func:`packed_dot`).
    """
    length, groups = x.shape[1], packed.shape[-1]
    x4 = torch.nn.functional.pad(x, (0, groups * 8 - length)).reshape(-1, 4)
    flat = packed.reshape(packed.shape[0], -1)
    out = x.new_zeros(packed.shape[0])
    for start in range(0, flat.shape[1], _BYTES_PER_CHUNK):
        sums = _pattern_sums(x4[2 * start : 2 * (start + _BYTES_PER_CHUNK)])
        out += sums.gather(1, _nibbles(flat[:, start : start + _BYTES_PER_CHUNK])).sum(0)
    return out


def masked_sums_adjoint(grad: torch.Tensor, packed: torch.Tensor, length: int) -> torch.Tensor:
    """The transpose of :func:`masked_sums`: ``(K,)`` weights to the ``(R, L)`` sum of weighted configurations."""
    rows, groups = packed.shape[1], packed.shape[2]
    flat = packed.reshape(packed.shape[0], -1)
    grad4 = grad.new_empty(rows * groups * 2, 4)
    for start in range(0, flat.shape[1], _BYTES_PER_CHUNK):
        index = _nibbles(flat[:, start : start + _BYTES_PER_CHUNK])
        weights = grad.new_zeros(index.shape[0], 16)
        weights.scatter_add_(1, index, grad.expand_as(index))
        grad4[2 * start : 2 * start + index.shape[0]] = _pattern_sums_adjoint(weights)
    return grad4.view(rows, groups * 8)[:, :length]


class _PackedDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(packed)
        ctx.length = x.shape[1]
        return masked_sums(x, packed)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:
        (packed,) = ctx.saved_tensors
        return masked_sums_adjoint(grad_out, packed, ctx.length), None


def packed_dot(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    """Differentiable :func:`masked_sums`: ``(K,)`` sums of ``x`` (``(R, L)``) over each configuration's set bits.

    Memory stays at one bit per anchor and binary plus a bounded chunk of unpacked entries.
    """
    out: torch.Tensor = _PackedDot.apply(x, packed)
    return out
