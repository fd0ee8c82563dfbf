"""Precision at k of a ranking: each relevant item compared with the irrelevant items of its query."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.ranking import CutoffMetric

__all__ = ["PrecisionAtK", "precision_at_k"]


def precision_at_k(
    scores: torch.Tensor,
    targets: torch.Tensor,
    groups: torch.Tensor | None = None,
    *,
    top_k: int,
    validate_args: bool = True,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact precision at ``top_k`` of a ranking, averaged over queries, computed from the scores.

    Formally, per query, ``#{relevant items among the first k} / k`` in the ranking by decreasing score. With
    ``ties="standard"`` (default) a group of tied items straddling position ``k`` counts its expected number of
    relevant items in the first ``k`` over the orders of the tie (the tie averaging of scikit-learn's
    ``ndcg_score``); with ``ties="pessimistic"`` (the refactoring's value) a relevant item tied with an
    irrelevant one ranks below it. Ties among relevant items do not change the value. The denominator is ``k``
    even for a query with fewer items; a query without a relevant item scores 0. scikit-learn has no precision
    at k; torchmetrics' ``RetrievalPrecision`` (``adaptive_k=False``) agrees on scores without ties that are all
    positive, but it takes the first ``k`` from ``torch.topk``, whose order among tied scores is unspecified,
    and it counts a relevant item scored at or below 0 as irrelevant (its ``preds > 0`` filter); here every
    score is ranked, logits included.

    Args:
        scores: ``(N,)`` float scores.
        targets: ``(N,)`` bool or int relevance in ``{0, 1}``.
        groups: optional ``(N,)`` int query id of each item; default: one query.
        top_k: the cut-off ``k``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: the expected value over orders of tied items) or ``"pessimistic"``
            (a relevant item tied with an irrelevant one ranks below it).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, wrong dtypes or a non-int ``top_k``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``,
            targets outside ``{0, 1}``, ``top_k < 1`` or an unknown ``ties``.

    Example:
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 1])
        >>> precision_at_k(scores, targets, top_k=2)
        tensor(0.5000)
        >>> precision_at_k(scores, targets, torch.tensor([0, 0, 1, 1]), top_k=1)  # two queries of two items
        tensor(1.)
    """
    return PrecisionAtK(top_k).exact(scores, targets, groups, validate_args, ties=ties)


@register
class PrecisionAtK(CutoffMetric):
    """Precision at k as a UniLoss refactoring: each relevant item against the irrelevant items of its query.

    Formally a relevant item ``i`` has ``c[i, j] = s_i - s_j`` for every irrelevant item ``j`` of its query, so
    its wrong count ``a_i`` is the number of irrelevant items above it; the ``m``-th relevant item of a query by
    ``a`` sits at position ``m + a_(m)`` (as in average precision), and the metric is :func:`precision_at_k` of
    those positions, with ``k`` in every denominator. Each item's comparisons fill rows of ``L`` entries (the
    last one padded, a mask marks padding; see :mod:`uniloss.metrics.ranking`); building them syncs the device.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        top_k: the cut-off ``k``.

    Raises:
        TypeError: if ``top_k`` is not an int.
        ValueError: if ``top_k < 1``.

    Example:
        >>> import uniloss
        >>> metric = PrecisionAtK(top_k=2)
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 1])
        >>> c = metric.comparisons(scores, targets)  # 3 relevant items against 1 irrelevant
        >>> c.shape, metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        ((3, 1), tensor([0.5000]))
    """

    name = "precision_at_k"
    higher_is_better = True

    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """``k`` for every query."""
        return torch.full(sizes.shape, float(self.top_k), dtype=torch.float64, device=sizes.device)
