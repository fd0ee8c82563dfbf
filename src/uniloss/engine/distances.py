"""The squared distances from the relaxed binaries to every anchor, with a closed-form backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from uniloss.anchors.base import CURRENT, AnchorSet
from uniloss.anchors.bits import AnchorBits
from uniloss.core.autograd import first_order_only, zero
from uniloss.interpolators.base import Interpolator
from uniloss.relaxations.base import Relaxation

__all__ = ["AnchorPlan", "anchor_plan", "dense_interpolation", "squared_distances"]

_ROW_CHUNK_ENTRIES = {"cpu": 1 << 18}  # entries relaxed at once by the distance sums, per device type
_DEFAULT_ROW_CHUNK_ENTRIES = 1 << 22  # accelerators: fewer, larger kernels


def _row_step(values: torch.Tensor) -> int:
    entries = _ROW_CHUNK_ENTRIES.get(values.device.type, _DEFAULT_ROW_CHUNK_ENTRIES)
    return max(1, entries // max(values.shape[1], 1))


class AnchorPlan(NamedTuple):
    """What the distances and the row counts need of the fixed anchors (base plus one toggled binary), ``(K,)`` each.

    Attributes:
        current: whether the anchor's base is the current configuration (else the ground truth).
        toggled: the toggled flat binary (0 where none is toggled).
        sign: ``+1`` where the toggle makes the binary wrong, ``-1`` where it makes it right, 0 where there is none.
    """

    current: torch.Tensor
    toggled: torch.Tensor
    sign: torch.Tensor


def anchor_plan(wrong: torch.Tensor, anchors: AnchorSet) -> AnchorPlan:
    """The :class:`AnchorPlan` of ``anchors`` given the current configuration's ``(R, L)`` wrong binaries."""
    current = anchors.base == CURRENT
    index = anchors.flip.clamp_min(0)
    corrects = current & wrong.reshape(-1)[index]  # a wrong binary of the current configuration made right
    return AnchorPlan(current, index, torch.where(corrects, -1, 1) * (anchors.flip >= 0))


def _relax_chunk(
    chunk: torch.Tensor, relax: Relaxation, real: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One chunk of the forward: ``1 - b``, the slope, the wrong binaries (floats), the two sums, ``(1+b) - (1-b)``."""
    to_right, to_wrong, slope = relax.distances_with_slope(chunk)
    wrong = torch.le(chunk, 0, out=torch.empty_like(chunk))  # 1.0 where wrong
    if real is not None:  # padding: right, at distance zero from every anchor, constant
        to_right, slope = to_right * real, slope * real  # (not in place: a relaxation may share tensors)
        wrong.mul_(real)
    current = torch.lerp(to_right, to_wrong, wrong)  # exact at weights 0 and 1
    flat_right, flat_current = to_right.reshape(-1), current.reshape(-1)
    truth, current_sum = torch.dot(flat_right, flat_right), torch.dot(flat_current, flat_current)
    return to_right, slope, wrong, truth, current_sum, to_wrong - to_right


def _grad_chunk(
    to_right: torch.Tensor,
    slope: torch.Tensor,
    wrong: torch.Tensor,
    per_right: torch.Tensor,
    per_wrong: torch.Tensor,
    adjoint: torch.Tensor | None,
    out: torch.Tensor | None,
) -> torch.Tensor:
    """One chunk of the backward, ``(per_right (1 - b) + per_wrong wrong + 4 adjoint) db/dc``, into ``out`` if given."""
    grad_b = torch.mul(to_right, per_right).addcmul_(wrong, per_wrong)
    if adjoint is not None:
        grad_b.add_(adjoint, alpha=4)
    return grad_b.mul_(slope) if out is None else torch.mul(grad_b, slope, out=out)


class Kernels(NamedTuple):
    """The elementwise work of the distances, eager or compiled (``UniLoss(..., compile=True)``)."""

    relax_chunk: Callable[..., Any]
    grad_chunk: Callable[..., Any]


EAGER = Kernels(_relax_chunk, _grad_chunk)
_COMPILED: list[Kernels] = []


def kernels(compiled: bool) -> Kernels:
    """The eager kernels, or the same compiled by ``torch.compile`` (dynamic shapes; compiled on first use)."""
    if not compiled:
        return EAGER
    if not _COMPILED:
        _COMPILED.append(Kernels(*(torch.compile(kernel, dynamic=True) for kernel in EAGER)))
    return _COMPILED[0]


class _DistanceSums(torch.autograd.Function):
    """``(K_all,)`` squared distances to every anchor, relaxing the comparisons in chunks of rows.

    Per chunk: ``sum (1 - b)^2`` (distance to the ground truth), the squared distance to the current configuration,
    and for each random anchor ``sum over its wrong binaries of (1 + b) - (1 - b)``; then each fixed anchor adds its
    toggled binary's change. The forward keeps ``1 - b``, the slope ``db/dc`` and the wrong binaries as floats
    (12 bytes per binary in float32); the backward applies the closed-form derivative of these sums, ``d/db`` of
    ``(1 - b)^2`` being ``-2 (1 - b)``, of ``(1 + b)^2`` ``2 (1 + b)`` and of ``(1 + b) - (1 - b)`` 2, times the
    slope: a few elementwise passes, no autograd graph over the binaries. Floats, not bools, select the wrong
    binaries (``lerp``, ``addcmul``): a bool condition is several times slower on the CPU.
    """

    @staticmethod
    def forward(
        ctx: Any,
        values: torch.Tensor,
        relax: Relaxation,
        mask: torch.Tensor | None,
        plan: AnchorPlan,
        random: AnchorBits | None,
        work: Kernels,
    ) -> torch.Tensor:
        rows, step = values.shape[0], _row_step(values)
        sums: list[torch.Tensor] = []
        saved: list[torch.Tensor] = []
        for start in range(0, rows, step):
            whole = step >= rows
            part = slice(start, start + step)
            chunk = values if whole else values[part]
            real = None if mask is None else (mask if whole else mask[part]).to(chunk.dtype)
            to_right, slope, wrong, truth, current, difference = work.relax_chunk(chunk, relax, real)
            more = [truth, current]
            if random is not None:
                more.append((random if whole else random.rows(part)).sums(difference))
            sums = more if not sums else [total.add_(extra) for total, extra in zip(sums, more, strict=True)]
            saved += [to_right, slope, wrong]
        to_truth, to_current = sums[0], sums[1]
        at_right, at_wrong, at_slope = relax.distances_with_slope(values.reshape(-1)[plan.toggled])
        change = at_wrong.square() - at_right.square()
        fixed = torch.where(plan.current, to_current, to_truth).addcmul_(change, plan.sign)
        squared = fixed if random is None else torch.cat([fixed, to_truth + 2 * sums[2]])
        ctx.save_for_backward(plan.current, plan.toggled, at_slope * plan.sign, squared, *saved)
        ctx.random, ctx.shape, ctx.step, ctx.work = random, values.shape, step, work
        return squared.clamp_min(0)

    @staticmethod
    @first_order_only
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        current, index, flip_slope, squared, *saved = ctx.saved_tensors
        random: AnchorBits | None = ctx.random
        grad = torch.where(squared >= 0, grad, 0.0)  # the clamp's
        fixed = current.shape[0]
        grad_fixed = grad[:fixed]
        to_current = (grad_fixed * current).sum()  # the gradient reaching the distance to the current configuration
        # d/db of the distance to the current configuration is 2 (1 + b) if wrong else -2 (1 - b), i.e.
        # 4 wrong - 2 (1 - b) since the two distances sum to 2; of the distance to the ground truth -2 (1 - b).
        per_right, per_wrong = -2 * grad.sum(), 4 * to_current
        rows, step = ctx.shape[0], ctx.step
        whole = step >= rows
        out = None if whole else saved[0].new_empty(ctx.shape)
        for chunk, start in enumerate(range(0, rows, step)):
            part = slice(start, start + step)
            adjoint = None if random is None else (random if whole else random.rows(part)).sums_adjoint(grad[fixed:])
            into = None if out is None else out[part]
            grad_c = ctx.work.grad_chunk(*saved[3 * chunk : 3 * chunk + 3], per_right, per_wrong, adjoint, into)
        out = grad_c if out is None else out
        # a toggled binary changes its anchor's distance by +-((1 + b)^2 - (1 - b)^2), of derivative +-4 db/dc
        out.view(-1).index_add_(0, index, grad_fixed.mul(flip_slope).mul_(4))
        return out, None, None, None, None, None


def squared_distances(
    values: torch.Tensor,
    relax: Relaxation,
    mask: torch.Tensor | None,
    wrong: torch.Tensor,
    anchors: AnchorSet,
    plan: AnchorPlan | None = None,
    compiled: bool = False,
) -> torch.Tensor:
    """``(K_all,)`` squared distances ``||b - a_k||^2`` in O(binaries + anchors) memory.

    With ``1 - b`` and ``1 + b`` (zero and two on padding), the distance to the ground truth is
    ``sum (1 - b)^2``; an anchor that is wrong on a set of binaries adds ``(1 + b)^2 - (1 - b)^2 =
    2 ((1 + b) - (1 - b))`` for each of them (a random anchor); the current configuration's distance is
    summed directly (no cancellation near it); toggling one binary swaps its term.
    """
    plan = anchor_plan(wrong, anchors) if plan is None else plan
    return _DistanceSums.apply(values, relax, mask, plan, anchors.random, kernels(compiled))


class _DenseInterpolation(torch.autograd.Function):
    """The interpolated metric at the relaxed binaries, from anchors given densely (the small-problem path).

    One autograd node for the distances and the interpolation. The squared distance to anchor ``k`` sums over
    binaries ``(1 + b)^2`` where the anchor is wrong and ``(1 - b)^2`` where it is right (``lerp`` of the two by the
    anchor, exact at weights 0 and 1); the interpolator gives the value and ``g = d value / d distances``
    (:meth:`~uniloss.interpolators.Interpolator.value_and_slope`). The gradient is formed in the forward, since
    it needs the same tensors: ``d/db = 2 (1 + b) g.A - 2 (1 - b) g.(1 - A) = 4 g.A - 2 (1 - b) sum(g)`` (the two
    distances sum to 2), times the slope ``db/dc``; padding, never wrong and at distance 0, gets none. The
    backward scales it by the incoming gradient.
    """

    @staticmethod
    def forward(
        ctx: Any,
        values: torch.Tensor,
        relax: Relaxation,
        mask: torch.Tensor | None,
        anchors: torch.Tensor,
        exact: torch.Tensor,
        interpolator: Interpolator,
        complement: bool,
    ) -> torch.Tensor:
        to_right, to_wrong, slope = relax.distances_with_slope(values)
        if mask is not None:
            to_right = to_right * mask
        squared = torch.lerp(to_right.square(), to_wrong.square(), anchors).sum((1, 2))
        value, per_anchor = interpolator.value_and_slope(squared, exact)
        if ctx.needs_input_grad[0]:  # a quarter of the gradient; the backward scales by 4 (-4 for 1 - g~)
            grad_b = torch.tensordot(per_anchor, anchors, 1).addcmul_(to_right, per_anchor.sum(), value=-0.5)
            ctx.save_for_backward(grad_b.mul_(slope))
            ctx.scale = -4 if complement else 4
        return 1 - value if complement else value

    @staticmethod
    @first_order_only
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (grad_c,) = ctx.saved_tensors
        return (
            torch.addcmul(zero(grad_c.dtype, grad_c.device), grad_c, grad, value=ctx.scale),
            None,
            None,
            None,
            None,
            None,
            None,
        )


def dense_interpolation(
    values: torch.Tensor,
    relax: Relaxation,
    mask: torch.Tensor | None,
    anchors: torch.Tensor,
    exact: torch.Tensor,
    interpolator: Interpolator,
    complement: bool = False,
) -> torch.Tensor:
    """The interpolated metric ``g~(b)`` at anchors materialised as ``(K, R, L)`` floats (1: wrong, 0: right).

    O(anchors x binaries) memory and work in a few passes, and one autograd node: the engine's path for small
    problems, where the number of tensor operations, not the work, sets the time.

    Args:
        values: ``(R, L)`` comparisons.
        relax: the relaxation.
        mask: ``(R, L)`` bool of real binaries, or ``None``.
        anchors: ``(K, R, L)`` anchors in the dtype of ``values``; never set on padding.
        exact: ``(K,)`` exact metric values at the anchors.
        interpolator: the interpolator.
        complement: return ``1 - g~(b)`` instead (the loss of a higher-is-better metric), in the same node.

    Returns:
        A scalar tensor, differentiable w.r.t. ``values``.
    """
    return _DenseInterpolation.apply(values, relax, mask, anchors, exact, interpolator, complement)
