"""Recall at k of a ranking: each relevant item compared with the irrelevant items of its query."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.ranking import CutoffMetric

__all__ = ["RecallAtK", "recall_at_k"]


def recall_at_k(
    scores: torch.Tensor,
    targets: torch.Tensor,
    groups: torch.Tensor | None = None,
    *,
    top_k: int,
    validate_args: bool = True,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact recall at ``top_k`` of a ranking, averaged over queries, computed from the scores.

    Formally, per query, ``#{relevant items among the first k} / #{relevant items}`` in the ranking by
    decreasing score. With ``ties="standard"`` (default) a group of tied items straddling position ``k`` counts
    its expected number of relevant items in the first ``k`` over the orders of the tie; with
    ``ties="pessimistic"`` (the refactoring's value) a relevant item tied with an irrelevant one ranks below it.
    Ties among relevant items do not change the value. A query without a relevant item scores
    0 (torchmetrics' ``RetrievalRecall`` default, ``empty_target_action="neg"``); a query with fewer than ``k``
    items can still reach 1. torchmetrics agrees on scores without ties that are all positive, but it takes the
    first ``k`` of an ``argsort`` whose order among tied scores is unspecified, and it counts a relevant item
    scored at or below 0 as not retrieved (its ``preds > 0`` filter); here every score is ranked, logits included.

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
        >>> recall_at_k(scores, targets, top_k=2)
        tensor(0.3333)
        >>> recall_at_k(scores, targets, torch.tensor([0, 0, 1, 1]), top_k=1)  # two queries of two items
        tensor(0.7500)
    """
    return RecallAtK(top_k).exact(scores, targets, groups, validate_args, ties=ties)


@register
class RecallAtK(CutoffMetric):
    """Recall at k as a UniLoss refactoring: the layout of :class:`~uniloss.metrics.PrecisionAtK`.

    Formally a relevant item ``i`` has ``c[i, j] = s_i - s_j`` for every irrelevant item ``j`` of its query; the
    wrong counts place the relevant items as in :class:`~uniloss.metrics.PrecisionAtK`, and the metric is
    :func:`recall_at_k` of those positions: the share of each query's relevant items in its first ``k``.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        top_k: the cut-off ``k``.

    Raises:
        TypeError: if ``top_k`` is not an int.
        ValueError: if ``top_k < 1``.

    Example:
        >>> import uniloss
        >>> metric = RecallAtK(top_k=2)
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 1])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.3333])
    """

    name = "recall_at_k"
    higher_is_better = True

    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """The number of relevant items of each query."""
        return torch.zeros(sizes.shape, dtype=torch.float64, device=sizes.device).index_add_(
            0, query, (relevance > 0).double()
        )
