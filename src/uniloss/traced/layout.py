"""From traced blocks to binaries, oriented by the ideal scores, rankings as pairs of items, laid out in one row.

Every strict comparison is oriented by the trace of the ideal scores; rankings become pairs of items (pruned to
pairs the ideal scores order).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from uniloss.traced.errors import UnsupportedMetricError
from uniloss.traced.tracer import Block

__all__ = ["Layout", "Part", "lay_out", "permuted_orders"]


@dataclass
class Part:
    """Where one block's strict outcomes live in the flat vector of binaries, and how a ranking is replayed.

    Attributes:
        block: the traced block.
        offset: index of its first binary.
        count: its number of binaries.
        first, second: for a ranking, flat ``(M * n)`` item indices of each pair of the binaries: the binary's
            strict outcome is "``first`` is placed before ``second``".
        ties: for a pruned ranking, ``(M, n)`` int64 group of each item: the ideal scores tie a group's items,
            and no pair of them is a binary.
        firsts: for a ranking, ``(M * n)`` int32, per item the number of pairs where it is ``first``.
        start: for a pruned ranking, ``(M, n)`` int64, per item the number of items of lower groups in its row.
        pruned: whether pairs of tied items were pruned. Then an item's place is the number of items of other
            groups placed before it plus its rank within its group by that number (ties: lower index first),
            exact at every consistent configuration for a function indifferent to the order within a group.
    """

    block: Block
    offset: int
    count: int
    first: torch.Tensor | None = None
    second: torch.Tensor | None = None
    ties: torch.Tensor | None = None
    start: torch.Tensor | None = None
    firsts: torch.Tensor | None = None
    pruned: bool = False


@dataclass
class Layout:
    """The binaries of one batch: ``values`` (oriented differences), their orientation, and the parts."""

    values: torch.Tensor
    """``(T,)`` oriented differences, differentiable: ``> 0`` is right."""
    positive: torch.Tensor
    """``(T,)`` bool: whether "right" is the strict outcome ``True`` (else right is ``False``)."""
    parts: list[Part]

    def outcomes(self, right: torch.Tensor) -> torch.Tensor:
        """Strict outcomes ``(K, T)`` bool of configurations given as ``(K, T)`` bool "right"."""
        return right == self.positive


def _oriented(difference: torch.Tensor, orientation: torch.Tensor, tie_is_true: bool) -> torch.Tensor:
    """``orientation * difference``, nudged above 0 where the difference ties and the tie's outcome is right.

    The engine counts ``c <= 0`` as wrong; a tie's outcome is the function's own (a strict comparison is ``False``
    at a tie, a ranking places the lower index first), so a tie whose outcome is the right one gets the smallest
    positive normal number instead of 0 (a constant: the gradient is ``orientation``'s).
    """
    value = difference * orientation
    right_at_tie = (orientation > 0) if tie_is_true else (orientation < 0)
    tiny = torch.finfo(value.dtype).tiny if value.is_floating_point() else 0
    return value + ((difference.detach() == 0) & right_at_tie).to(value.dtype) * tiny


def _mismatch(block: Block, other: Block | None) -> UnsupportedMetricError:
    seen = "nothing" if other is None else f"`{other.op}` of shape {other.shape}"
    return UnsupportedMetricError(
        "outcome shapes",
        block.op,
        block.where,
        f"(on the ideal scores this call is {seen}, on the batch `{block.op}` of shape {block.shape})",
    )


def _rank_part(block: Block, ideal: Block, offset: int, prune: bool) -> tuple[Part, torch.Tensor, torch.Tensor]:
    keys, ideal_keys = block.keys, ideal.keys
    assert keys is not None  # ranking blocks have keys
    assert ideal_keys is not None
    rows, n = keys.shape
    device = keys.device
    gap = ideal_keys.detach()[:, :, None] - ideal_keys.detach()[:, None, :]  # (M, n, n) ideal key of i minus of j
    if prune:  # one sync, nonzero's: pairs were pruned when some above the diagonal tie
        upper = torch.ones(n, n, dtype=torch.bool, device=device).triu(1)
        row, i, j = (upper & (gap != 0)).nonzero(as_tuple=True)
        pruned = row.numel() < rows * n * (n - 1) // 2
    else:  # every pair above the diagonal, in nonzero's order, without a sync
        above = torch.triu_indices(n, n, 1, device=device)
        row = torch.arange(rows, device=device).repeat_interleave(above.shape[1])
        i, j, pruned = above[0].repeat(rows), above[1].repeat(rows), False
    first, second = row * n + i, row * n + j
    flat = keys.reshape(-1)
    difference = flat[first] - flat[second]
    gaps = gap[row, i, j]
    orientation = torch.where(gaps >= 0, 1, -1).to(difference.dtype)  # an ideal tie: the lower index first
    firsts = torch.zeros(rows * n, dtype=torch.int32, device=device).index_add_(
        0, first, torch.ones_like(first, dtype=torch.int32)
    )
    part = Part(block, offset, first.numel(), first, second, firsts=firsts)
    if pruned:  # items of one tie group: ordered by the items of other groups placed before them
        ties = torch.unique(ideal_keys.detach(), return_inverse=True)[1].reshape(rows, n)
        part.ties = ties
        part.start = (ties[:, None, :] < ties[:, :, None]).sum(-1)  # items of lower groups in the row
        part.pruned = True
    return part, _oriented(difference, orientation, tie_is_true=True), orientation > 0


def _compare_part(block: Block, ideal: Block, offset: int) -> tuple[Part, torch.Tensor, torch.Tensor]:
    values, signs = [], []
    for difference, ideal_difference in zip(block.differences, ideal.differences, strict=True):
        gap = torch.as_tensor(ideal_difference).detach().expand(block.shape).reshape(-1)
        flat = torch.as_tensor(difference).expand(block.shape).reshape(-1)
        orientation = torch.where(gap > 0, 1, -1).to(flat.dtype)  # an ideal tie: right is the ideal's False
        values.append(_oriented(flat, orientation, tie_is_true=False))
        signs.append(orientation > 0)
    value = torch.cat(values)
    return Part(block, offset, value.numel()), value, torch.cat(signs)


def lay_out(blocks: list[Block], ideal_blocks: list[Block], prune: bool, scores: torch.Tensor) -> Layout:
    """The binaries of a traced batch, oriented by the trace of the same function on the ideal scores.

    Args:
        blocks: the blocks of the batch.
        ideal_blocks: the blocks of the ideal scores (same calls, same shapes).
        prune: decompose rankings into pairs of items the ideal scores order only.
        scores: the batch's scores (the dtype and device of a layout without blocks).

    Returns:
        The :class:`Layout`.

    Raises:
        UnsupportedMetricError: if the two traces do not make the same calls with the same shapes.
    """
    if len(ideal_blocks) < len(blocks):
        raise _mismatch(blocks[len(ideal_blocks)], None)
    parts, values, positive = [], [], []
    offset = 0
    for block, ideal in zip(blocks, ideal_blocks, strict=False):
        if block.signature != ideal.signature:
            raise _mismatch(block, ideal)
        if block.kind == "rank":
            part, value, sign = _rank_part(block, ideal, offset, prune)
        else:
            part, value, sign = _compare_part(block, ideal, offset)
        parts.append(part)
        values.append(value.reshape(-1))
        positive.append(sign.reshape(-1))
        offset += part.count
    if len(ideal_blocks) > len(blocks):
        raise _mismatch(ideal_blocks[len(blocks)], None)
    if not values:  # a batch without comparisons: no binary
        empty = scores.new_zeros(0, dtype=torch.promote_types(scores.dtype, torch.float32))
        return Layout(empty, empty.bool(), parts)
    dtype = torch.promote_types(values[0].dtype, torch.float32)
    return Layout(torch.cat([v.to(dtype) for v in values]), torch.cat(positive), parts)


def permuted_orders(part: Part, outcomes: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
    """Two other realisable orders of a ranking: its items reversed, then shuffled, within each ideal tie group.

    The slots each group holds in the current order stay the group's; only which of its items sits where changes.

    Args:
        part: a pruned ranking part.
        outcomes: ``(T,)`` the current configuration's strict outcomes.
        generator: random source of the shuffle.

    Returns:
        Two ``(M, n)`` orders (first item first).
    """
    current = _keys(part, outcomes[None])[0].argsort(dim=-1)
    ties = part.ties
    assert ties is not None
    rows, n = current.shape
    group = ties.gather(1, current) * (n + 1)  # group of the item in each slot
    slot = torch.arange(n, device=current.device).expand(rows, n)
    forward = torch.argsort(group + slot, dim=1, stable=True)
    orders = []
    shuffled = torch.rand(rows, n, generator=generator, device="cpu").argsort(1).to(current.device)
    for keys in (group + (n - 1 - slot), group + shuffled):
        moved = current.gather(1, torch.argsort(keys, dim=1, stable=True))
        orders.append(torch.empty_like(current).scatter_(1, forward, moved))
    return orders


def _keys(part: Part, outcomes: torch.Tensor, first_only: bool = False) -> torch.Tensor:
    """``(K, M, n)`` distinct keys, ascending in the order of a ranking at ``(K, T)`` configurations.

    ``first_only``: only the first item's key need be the smallest (at a consistent configuration it is the item of
    lowest index among those no item of another group is placed before: no within-group ranks are needed).
    """
    assert part.first is not None
    assert part.second is not None
    assert part.firsts is not None
    rows, n = part.block.shape
    count = outcomes.shape[0]
    bits = outcomes[:, part.offset : part.offset + part.count].to(torch.int32)
    # placed before an item: the pairs where it comes second and the other is first, the pairs where it comes
    # first and loses (its count of such pairs, less the ones it wins)
    before = part.firsts.expand(count, -1).clone()
    before.scatter_add_(1, part.second.expand(count, -1), bits)
    before.scatter_add_(1, part.first.expand(count, -1), -bits)
    before = before.reshape(count, rows, n).long()
    index = torch.arange(n, device=bits.device)
    if part.pruned and not first_only:
        assert part.ties is not None
        assert part.start is not None
        within = torch.argsort((part.ties * (n + 1) + before) * n + index, dim=-1)  # by group, then by count
        rank = torch.empty_like(within).scatter_(-1, within, index.expand_as(within)) - part.start
        before = before + rank
    return before * n + index  # distinct: no stable sort needed


def replay_order(part: Part, outcomes: torch.Tensor) -> torch.Tensor:
    """The order of a ranking at configurations: items by the number placed before them, ties by index.

    Exact at consistent configurations (a strict order of the items); some permutation at any other. Only the
    leading items the call returns are ordered: 1 for ``argmax``/``max``, ``k`` for ``topk``, all for a sort.

    Args:
        part: a ranking part.
        outcomes: ``(K, T)`` strict outcomes of ``K`` configurations.

    Returns:
        ``(K, M, n)``, ``(K, M, k)`` or ``(K, M, 1)`` int64, the leading items first.
    """
    spec = part.block.spec
    assert spec is not None
    if spec.op in ("argmax", "argmin", "max", "min"):
        return _keys(part, outcomes, first_only=True).argmin(-1, keepdim=True)
    keys = _keys(part, outcomes)
    if spec.op == "topk":
        return keys.topk(spec.k, dim=-1, largest=False).indices
    return keys.argsort(dim=-1)
