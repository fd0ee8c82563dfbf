"""PCK (PCKh for pose): a joint is right when the heatmap's peak lies within a radius of the true joint."""

from __future__ import annotations

import torch

from uniloss.core.checks import (
    check_arity,
    check_finite,
    check_floating,
    check_nonempty,
    check_positive,
    check_same_device,
    check_shape,
    check_tensor,
)
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.base import MetricRefactoring

__all__ = ["PCK", "pck"]


def _check_inputs(heatmaps: object, joints: object, visible: object, head_size: object) -> None:
    heatmaps = check_tensor("heatmaps", heatmaps)
    joints = check_tensor("joints", joints)
    visible = check_tensor("visible", visible)
    head_size = check_tensor("head_size", head_size)
    sizes: dict[str, int] = {}
    check_shape("heatmaps", heatmaps, ("N", "J", "H", "W"), sizes)
    check_shape("joints", joints, ("N", "J", 2), sizes)
    check_shape("visible", visible, ("N", "J"), sizes)
    check_shape("head_size", head_size, ("N",), sizes)
    check_floating("heatmaps", heatmaps)
    check_floating("joints", joints)
    check_floating("head_size", head_size)
    if visible.is_floating_point() or visible.is_complex():
        raise TypeError(f"`visible` must be a bool or integer tensor, but got {visible.dtype}.")
    check_same_device("heatmaps", heatmaps, joints=joints, visible=visible, head_size=head_size)
    check_nonempty("heatmaps", heatmaps)
    if heatmaps.shape[-1] == 0 or heatmaps.shape[-2] == 0:
        raise ValueError(f"`heatmaps` must have H and W of at least 1, but got shape {tuple(heatmaps.shape)}.")
    check_finite("heatmaps", heatmaps)
    check_finite("joints", joints)
    check_finite("head_size", head_size)
    if bool((head_size <= 0).any()):
        raise ValueError(f"`head_size` must be positive, but got a minimum of {float(head_size.min())}.")


def _positive_pixels(
    heatmaps: torch.Tensor, joints: torch.Tensor, visible: torch.Tensor, head_size: torch.Tensor, threshold: float
) -> torch.Tensor:
    """``(N*J, H*W)`` bool: pixels of visible joints within ``threshold * head_size`` of the joint."""
    height, width = heatmaps.shape[-2:]
    ys = torch.arange(height, device=heatmaps.device, dtype=joints.dtype).view(1, 1, height, 1)
    xs = torch.arange(width, device=heatmaps.device, dtype=joints.dtype).view(1, 1, 1, width)
    dist2 = (xs - joints[..., 0, None, None]) ** 2 + (ys - joints[..., 1, None, None]) ** 2
    radius = (threshold * head_size).view(-1, 1, 1, 1)
    positive = (dist2 <= radius**2) & visible.bool()[..., None, None]
    return positive.flatten(2).flatten(0, 1)


def _mean_over_visible(right: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean of ``right`` ``(K, N*J)`` over visible joints; 0 when none is visible."""
    vis = visible.reshape(-1).bool()
    count = vis.sum().clamp_min(1).to(torch.get_default_dtype())
    return (right & vis).sum(-1).to(torch.get_default_dtype()) / count


def pck(
    heatmaps: torch.Tensor,
    joints: torch.Tensor,
    visible: torch.Tensor,
    head_size: torch.Tensor,
    threshold: float = 0.5,
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact PCK of a batch of heatmaps (PCKh when ``head_size`` is the head size), not differentiable.

    Formally a visible joint is right iff the heatmap's peak lies in ``P``, the set of pixels whose centre lies
    within ``threshold * head_size`` of the joint. With ``ties="standard"`` (default) the peak is the ``argmax``
    (of several equal maxima the first in row-major order, as ``torch.argmax`` and the usual evaluation code);
    with ``ties="pessimistic"`` (the refactoring's value) the joint is right iff ``max_{p in P} s_p > max_{q not
    in P} s_q``, a tie between the best pixel inside and outside being wrong. PCK is the fraction of visible
    joints that are right. A joint whose radius holds no pixel centre is wrong; a radius that covers the
    whole heatmap makes it right. With no visible joint PCK is 0. Pixel ``(x, y)`` has its centre at the
    integer coordinates ``(x, y)`` of the heatmap.

    Args:
        heatmaps: ``(N, J, H, W)`` float scores.
        joints: ``(N, J, 2)`` float joint positions ``(x, y)`` in heatmap pixels.
        visible: ``(N, J)`` bool or int; invisible joints are ignored.
        head_size: ``(N,)`` positive float head sizes in heatmap pixels.
        threshold: radius as a fraction of the head size (0.5 for PCKh@0.5).
        validate_args: check the inputs, every float tensor finite included (device syncs). Unchecked, a NaN in
            ``heatmaps``, ``joints`` or ``head_size`` gives NaN, and ``+inf`` / ``-inf`` in ``heatmaps`` act as
            scores above / below every finite one.
        ties: ``"standard"`` (default: the first maximum is the peak) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input or wrong dtypes.
        ValueError: for mismatched shapes or devices, non-finite heatmaps, joints or head sizes, a head size
            ``<= 0``, a non-positive threshold or an unknown ``ties``.

    Example:
        >>> heatmaps = torch.zeros(1, 2, 8, 8)
        >>> heatmaps[0, 0, 2, 3] = heatmaps[0, 1, 7, 7] = 1.0
        >>> joints = torch.tensor([[[3.0, 2.0], [1.0, 1.0]]])
        >>> pck(heatmaps, joints, torch.tensor([[True, True]]), torch.tensor([2.0]))
        tensor(0.5000)
    """
    threshold = check_positive("threshold", threshold)
    ties = check_ties(ties)
    if validate_args:
        _check_inputs(heatmaps, joints, visible, head_size)
    positive = _positive_pixels(heatmaps, joints, visible, head_size, threshold)
    flat = heatmaps.detach().flatten(2).flatten(0, 1)
    if ties == "standard":
        right = positive.gather(1, flat.argmax(-1, keepdim=True)).squeeze(1)
    else:
        best_in = flat.masked_fill(~positive, float("-inf")).amax(-1)
        best_out = flat.masked_fill(positive, float("-inf")).amax(-1)
        right = positive.any(-1) & ((best_in > best_out) | positive.all(-1))
    value = _mean_over_visible(right.unsqueeze(0), visible)[0]
    return value if validate_args else nan_if_any_nan(value, heatmaps, joints, head_size)


@register
class PCK(MetricRefactoring):
    """PCK as a UniLoss refactoring: every positive pixel of a joint against every negative pixel.

    Formally, for each visible joint, ``c[p, q] = s_p - s_q`` for each pixel ``p`` within ``threshold *
    head_size`` of the joint (a row) and every pixel ``q`` of the same heatmap outside it (the row's
    entries; the row's other entries are padding). A joint is right iff one of its rows has no wrong
    binary; PCK is the fraction of visible joints that are right (see :func:`pck`). The number of rows
    depends on the joints, so building the layout takes one device sync on CUDA.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        threshold: radius as a fraction of the head size (0.5 for PCKh@0.5).

    Raises:
        ValueError: if ``threshold`` is not a positive finite number.

    Example:
        >>> metric = PCK(threshold=0.5)
        >>> heatmaps = torch.zeros(1, 1, 4, 4)
        >>> c = metric.comparisons(heatmaps, torch.tensor([[[1.0, 1.0]]]), torch.tensor([[True]]), torch.tensor([2.0]))
        >>> c.shape  # 5 pixels within radius 1 of (1, 1), each against the 16 pixels of the heatmap
        (5, 16)
    """

    name = "pck"
    higher_is_better = True

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = check_positive("threshold", threshold)

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``heatmaps (N, J, H, W)``, ``joints (N, J, 2)``, ``visible (N, J)``, ``head_size (N,)``."""
        check_arity(self, targets, ("joints", "visible", "head_size"), first="heatmaps")
        _check_inputs(scores, *targets)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(R, H*W)`` differences: each positive pixel (a row) minus every pixel of its heatmap."""
        joints, visible, head_size = targets
        positive = _positive_pixels(scores, joints, visible, head_size, self.threshold)
        joint, pixel = positive.nonzero(as_tuple=True)
        flat = scores.flatten(2).flatten(0, 1)
        values = flat[joint, pixel].unsqueeze(1) - flat[joint]
        return Comparisons(values, mask=~positive[joint], context=(joint, visible))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Fraction of visible joints with a row (positive pixel) that has no wrong binary."""
        joint, visible = comparisons.context
        num_joints = visible.numel()
        fewest = wrong.new_full((wrong.shape[0], num_joints), torch.iinfo(torch.int64).max)
        fewest = fewest.scatter_reduce(1, joint.expand_as(wrong), wrong, reduce="amin")
        return _mean_over_visible(fewest == 0, visible)
