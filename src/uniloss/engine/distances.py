"""The squared distances from the relaxed binaries to every anchor, with a closed-form backward."""

from __future__ import annotations

from typing import Any

import torch

from uniloss.anchors.base import CURRENT, AnchorSet
from uniloss.anchors.bits import AnchorBits
from uniloss.core.autograd import first_order_only
from uniloss.relaxations.base import Relaxation

__all__ = ["dense_squared_distances", "squared_distances"]

_ROW_CHUNK_ENTRIES = {"cpu": 1 << 18}  # entries relaxed at once by the distance sums, per device type
_DEFAULT_ROW_CHUNK_ENTRIES = 1 << 22  # accelerators: fewer, larger kernels


def _row_step(values: torch.Tensor) -> int:
    entries = _ROW_CHUNK_ENTRIES.get(values.device.type, _DEFAULT_ROW_CHUNK_ENTRIES)
    return max(1, entries // max(values.shape[1], 1))


def _masked(
    mask: torch.Tensor | None, to_right: torch.Tensor, to_wrong: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``1 - b`` and ``1 + b`` with zero and two on padding (where ``mask`` is unset)."""
    if mask is None:
        return to_right, to_wrong
    return torch.where(mask, to_right, 0.0), torch.where(mask, to_wrong, 2.0)


class _DistanceSums(torch.autograd.Function):
    """The sums over binaries behind every anchor distance, relaxing the comparisons in chunks of rows.

    Returns ``sum (1 - b)^2`` (distance to the ground truth), the squared distance to the current
    configuration, and for each random anchor ``sum over its wrong binaries of (1 + b) - (1 - b)``. Only the
    comparisons, the wrong mask and the anchors' bits are kept for the backward, which relaxes each chunk
    again and applies the closed-form derivative of these sums times the relaxation's slope ``db/dc``:
    a few bytes per binary, a dozen elementwise passes, no autograd graph over the binaries.
    """

    @staticmethod
    def forward(
        ctx: Any,
        values: torch.Tensor,
        relax: Relaxation,
        mask: torch.Tensor | None,
        wrong: torch.Tensor,
        random: AnchorBits | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows, step = values.shape[0], _row_step(values)
        to_truth = values.new_zeros(())
        to_current = values.new_zeros(())
        dots = values.new_zeros(0 if random is None else random.count)
        for start in range(0, rows, step):
            part = slice(start, start + step)
            to_right, to_wrong = _masked(None if mask is None else mask[part], *relax.distances(values[part]))
            to_truth += to_right.square().sum()
            to_current += torch.where(wrong[part], to_wrong, to_right).square().sum()
            if random is not None:
                dots += random.rows(part).sums(to_wrong - to_right)
        ctx.save_for_backward(values, mask, wrong)
        ctx.relax, ctx.random = relax, random
        return to_truth, to_current, dots

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(
        ctx: Any, grad_truth: torch.Tensor, grad_current: torch.Tensor, grad_dots: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        values, mask, wrong = ctx.saved_tensors
        random: AnchorBits | None = ctx.random
        rows, step = values.shape[0], _row_step(values)
        grad = torch.empty_like(values)
        for start in range(0, rows, step):
            part = slice(start, start + step)
            to_right, to_wrong, slope = ctx.relax.distances_with_slope(values[part])
            if mask is not None:  # padding is constant: no slope
                slope = torch.where(mask[part], slope, 0.0)
            # d/db of (1 - b)^2 is -2 (1 - b), of (1 + b)^2 is 2 (1 + b), of (1 + b) - (1 - b) is 2.
            grad_b = torch.where(wrong[part], (2 * grad_current) * to_wrong, -(2 * grad_current) * to_right)
            grad_b -= (2 * grad_truth) * to_right
            if random is not None:
                grad_b += 2 * random.rows(part).sums_adjoint(grad_dots)
            torch.mul(grad_b, slope, out=grad[part])
        return grad, None, None, None, None


def squared_distances(
    values: torch.Tensor,
    relax: Relaxation,
    mask: torch.Tensor | None,
    wrong: torch.Tensor,
    anchors: AnchorSet,
) -> torch.Tensor:
    """``(K_all,)`` squared distances ``||b - a_k||^2`` in O(binaries + anchors) memory.

    With ``1 - b`` and ``1 + b`` (zero and two on padding), the distance to the ground truth is
    ``sum (1 - b)^2``; an anchor that is wrong on a set of binaries adds ``(1 + b)^2 - (1 - b)^2 =
    2 ((1 + b) - (1 - b))`` for each of them (a random anchor); the current configuration's distance is
    summed directly (no cancellation near it); toggling one binary swaps its term.
    """
    to_truth, to_current, dots = _DistanceSums.apply(values, relax, mask, wrong, anchors.random)
    flip = anchors.flip
    index = flip.clamp_min(0)
    at_right, at_wrong = relax.distances(values.reshape(-1)[index])
    change = torch.where(anchors.toggled_to_wrong(wrong), 1.0, -1.0) * (at_wrong.square() - at_right.square())
    fixed = torch.where(anchors.base == CURRENT, to_current, to_truth) + torch.where(flip >= 0, change, 0.0)
    if anchors.random is None:
        return fixed.clamp_min(0)
    return torch.cat([fixed, to_truth + 2 * dots]).clamp_min(0)


class _DenseDistances(torch.autograd.Function):
    """``(K,)`` squared distances to anchors given densely, ``(K, R, L)`` bools (the small-problem path).

    ``sum`` over binaries of ``(1 + b)^2`` where the anchor is wrong and ``(1 - b)^2`` where it is right, each
    term from the relaxation's cancellation-free distances. The backward is closed-form: with ``g`` the
    gradient of the distances, ``d/db = 2 (1 + b) g.A - 2 (1 - b) g.(1 - A) = 4 g.A - 2 (1 - b) sum(g)`` (the two
    distances sum to 2), times the slope ``db/dc``; padding, never wrong and at distance 0, gets none.
    """

    @staticmethod
    def forward(
        ctx: Any, values: torch.Tensor, relax: Relaxation, mask: torch.Tensor | None, dense: torch.Tensor
    ) -> torch.Tensor:
        to_right, to_wrong, slope = relax.distances_with_slope(values)
        if mask is not None:
            to_right = torch.where(mask, to_right, 0.0)
        squared = torch.where(dense, to_wrong.square(), to_right.square()).sum((1, 2))
        ctx.save_for_backward(to_right, slope, dense)
        return squared

    @staticmethod
    @first_order_only
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        to_right, slope, dense = ctx.saved_tensors
        grad_b = torch.einsum("k,krl->rl", grad * 4, dense.to(grad.dtype))
        grad_b.addcmul_(to_right, grad.sum(), value=-2)
        return grad_b.mul_(slope), None, None, None


def dense_squared_distances(
    values: torch.Tensor, relax: Relaxation, mask: torch.Tensor | None, dense: torch.Tensor
) -> torch.Tensor:
    """``(K,)`` squared distances ``||b - a_k||^2`` to anchors materialised as ``(K, R, L)`` bools (``True``: wrong).

    O(anchors x binaries) memory and work in a few passes: the engine's path for small problems, where the number
    of tensor operations, not the work, sets the time.
    """
    return _DenseDistances.apply(values, relax, mask, dense)
