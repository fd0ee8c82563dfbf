"""A dense reference of the engine: every anchor materialised. Slow; an oracle for tests and benchmarks."""

from __future__ import annotations

import torch

from uniloss.anchors.base import AnchorSampler
from uniloss.interpolators.base import Interpolator
from uniloss.metrics.base import MetricRefactoring
from uniloss.relaxations.base import Relaxation

__all__ = ["dense_uniloss"]


def dense_uniloss(
    scores: torch.Tensor,
    *targets: torch.Tensor,
    metric: MetricRefactoring,
    relax: Relaxation,
    anchors: AnchorSampler,
    interpolator: Interpolator,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The UniLoss surrogate computed the direct way, as the published code does it (vectorised).

    Formally the same function as :func:`uniloss.uniloss` with the same anchors: ``b = relax(c)``,
    ``d_k = ||b - a_k||^2`` over a dense ``(K, R, L)`` tensor of anchors, and ``g(a_k)`` from
    :meth:`~uniloss.metrics.MetricRefactoring.evaluate` on those dense anchors. Memory is O(anchors x
    binaries): use it to check or to time the engine, never to train.

    Args:
        scores: raw scores for ``metric``.
        *targets: the metric's targets.
        metric: the refactored metric.
        relax: the relaxation.
        anchors: the anchor sampler (fed the same random stream as the engine).
        interpolator: the interpolator.
        generator: random source of the anchors.

    Returns:
        A scalar loss tensor.

    Example:
        >>> import uniloss
        >>> args = dict(metric=uniloss.metrics.AveragePrecision(), relax=uniloss.Sigmoid(),
        ...             anchors=uniloss.anchors.PaperAnchors(), interpolator=uniloss.InverseDistanceWeighting())
        >>> s, y = torch.tensor([1.0, -1.0, 0.5, 0.0]), torch.tensor([1, 0, 0, 1])
        >>> dense = dense_uniloss(s, y, generator=torch.Generator().manual_seed(0), **args)
        >>> fast = uniloss.uniloss(s, y, generator=torch.Generator().manual_seed(0), **args)
        >>> bool(torch.allclose(dense, fast))
        True
    """
    comparisons = metric.comparisons(scores, *targets)
    values = comparisons.values
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()
    mask = comparisons.mask if comparisons.mask is not None else torch.ones_like(values, dtype=torch.bool)
    relaxed = torch.where(mask, relax(values), 1.0)
    wrong = (values <= 0) & mask
    drawn = anchors.sample(wrong, comparisons.mask, generator)
    dense = torch.where(drawn.materialise(wrong), -1.0, 1.0).to(values.dtype)
    squared = (relaxed.unsqueeze(0) - dense).square().flatten(1).sum(1)
    with torch.no_grad():
        exact = metric.evaluate(dense, comparisons)
    value = interpolator(squared, exact)
    return 1 - value if metric.higher_is_better else value
