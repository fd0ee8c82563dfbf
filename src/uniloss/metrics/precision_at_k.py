"""Precision at k of a ranking: each relevant item compared with the irrelevant items of its query."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_positive_int
from uniloss.core.registry import register
from uniloss.metrics._ranking import RankingMetric, check_ranking_inputs

__all__ = ["PrecisionAtK", "precision_at_k"]


def precision_at_k(
    scores: torch.Tensor,
    targets: torch.Tensor,
    groups: torch.Tensor | None = None,
    *,
    top_k: int,
    validate_args: bool = True,
) -> torch.Tensor:
    """Exact precision at ``top_k`` of a ranking, averaged over queries, computed from the scores.

    Formally, per query, ``#{relevant items among the first k} / k`` in the ranking by decreasing score. A
    relevant item tied with an irrelevant one ranks below it (a tie is wrong; torchmetrics and scikit-learn
    break such ties by position instead); ties among relevant items do not change the value. The denominator
    is ``k`` even for a query with fewer items (torchmetrics' ``RetrievalPrecision`` with ``adaptive_k=False``);
    a query without a relevant item scores 0.

    Args:
        scores: ``(N,)`` float scores.
        targets: ``(N,)`` bool or int relevance in ``{0, 1}``.
        groups: optional ``(N,)`` int query id of each item; default: one query.
        top_k: the cut-off ``k``.
        validate_args: check the inputs (one device sync).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, wrong dtypes or a non-int ``top_k``.
        ValueError: for mismatched shapes or devices, targets outside ``{0, 1}`` or ``top_k < 1``.

    Example:
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 1])
        >>> precision_at_k(scores, targets, top_k=2)
        tensor(0.5000)
        >>> precision_at_k(scores, targets, torch.tensor([0, 0, 1, 1]), top_k=1)  # two queries of two items
        tensor(1.)
    """
    metric = PrecisionAtK(top_k)
    if validate_args:
        check_ranking_inputs(scores, targets, groups, graded=False)
    return metric.exact(scores, targets, groups)


@register("precision_at_k")
class PrecisionAtK(RankingMetric):
    """Precision at k as a UniLoss refactoring: each relevant item against the irrelevant items of its query.

    Formally row ``i`` (a relevant item) holds ``c[i, j] = s_i - s_j`` for every irrelevant item ``j`` of its
    query, so its wrong count ``a_i`` is the number of irrelevant items above it. As in average precision, the
    ``m``-th relevant item of a query by ``a`` sits at position ``m + a_(m)``, and the metric is
    :func:`precision_at_k` of those positions (see :mod:`uniloss.metrics._ranking`). Rows are padded to the
    largest query (a mask marks padding); building the layout takes one device sync.

    Defaults: :class:`~uniloss.core.relax.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
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
        >>> c = metric.comparisons(scores, targets)  # 3 relevant items against 1 irrelevant (and padding)
        >>> c.shape, metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        ((3, 3), tensor([0.5000]))
    """

    name = "precision_at_k"
    higher_is_better = True

    def __init__(self, top_k: int) -> None:
        self.top_k = check_positive_int("top_k", top_k)

    def discount(self, pos: torch.Tensor) -> torch.Tensor:
        """1 in the top ``k``, else 0."""
        return (pos <= self.top_k).double()

    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """``k`` for every query."""
        return torch.full(sizes.shape, float(self.top_k), dtype=torch.float64, device=sizes.device)

    def __repr__(self) -> str:
        return f"PrecisionAtK(top_k={self.top_k})"
