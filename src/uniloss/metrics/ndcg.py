"""Normalised discounted cumulative gain: each relevant item compared with the items of other relevance."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_positive_int
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.ranking import RankingMetric

__all__ = ["NDCG", "ndcg"]


def ndcg(
    scores: torch.Tensor,
    targets: torch.Tensor,
    groups: torch.Tensor | None = None,
    top_k: int | None = None,
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact NDCG (at ``top_k``) of a ranking, averaged over queries, computed from the scores.

    Formally, per query, ``DCG / IDCG`` with ``DCG = sum_{i : p_i <= k} rel_i / log2(1 + p_i)``, ``p_i`` the
    position of item ``i`` in the ranking by decreasing score, and ``IDCG`` the DCG of the ideal ordering:
    linear gains, as scikit-learn's ``ndcg_score`` and torchmetrics' ``retrieval_normalized_dcg``. With
    ``ties="standard"`` (default) tied items share the mean discount of the positions they occupy, as both peers
    average the gains of tied items (the expected value over orders of the ties); with ``ties="pessimistic"``
    (the refactoring's value) of two tied items of different relevance the less relevant ranks first, so ties
    never help. Both agree without ties. A query whose relevances are all 0 (``IDCG = 0``) scores 0 and still
    counts in the mean, as in scikit-learn and torchmetrics' ``RetrievalNormalizedDCG``.

    Args:
        scores: ``(N,)`` float scores.
        targets: ``(N,)`` relevances ``>= 0`` (bool, int or float).
        groups: optional ``(N,)`` int query id of each item; default: one query.
        top_k: cut-off ``k``; ``None`` (default) ranks every item.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` or float ``targets`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every
            finite one.
        ties: ``"standard"`` (default: averaged over tied items) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, wrong dtypes or a non-int ``top_k``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, negative or non-finite targets, or
            ``top_k < 1``, or an unknown ``ties``.

    Example:
        >>> ndcg(torch.tensor([0.1, 0.2, 0.3, 4.0]), torch.tensor([10, 0, 0, 1]))
        tensor(0.4992)
    """
    return NDCG(top_k).exact(scores, targets, groups, validate_args, ties=ties)


@register
class NDCG(RankingMetric):
    """NDCG as a UniLoss refactoring: each relevant item against the items of other relevance.

    Formally each item ``i`` of relevance ``> 0`` is compared with every less relevant item ``j`` of its query,
    ``c[i, j] = s_i - s_j``, and with every more relevant one, ``c[i, j] = s_j - s_i``, in separate rows, so the
    wrong counts give the number of items of other relevance above ``i``; its position follows by placing items
    of one level among themselves, and the metric is :func:`ndcg` of those positions (see
    :mod:`uniloss.metrics.ranking`; items of relevance 0 add nothing to the DCG and need no row). A pair of
    relevant items of different relevance thus appears once for each item. With the items of a query sorted by
    relevance each item's comparisons are two runs of that order, cut into rows of ``L`` entries (the last one
    padded, a mask marks padding), ``L`` chosen to keep both padding and rows few; building the rows takes a
    few device syncs.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        top_k: cut-off ``k``; ``None`` (default) ranks every item.

    Raises:
        TypeError: if ``top_k`` is not an int or None.
        ValueError: if ``top_k < 1``.

    Example:
        >>> import uniloss
        >>> metric = NDCG(top_k=3)
        >>> scores, targets = torch.tensor([0.1, 0.2, 0.3, 4.0]), torch.tensor([10, 0, 0, 1])
        >>> c = metric.comparisons(scores, targets)  # rows: 10 against 3 items, 1 against 2, then 1 against 10
        >>> c.shape, metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        ((3, 3), tensor([0.0941]))
    """

    name = "ndcg"
    higher_is_better = True
    graded = True

    def __init__(self, top_k: int | None = None) -> None:
        self.top_k = None if top_k is None else check_positive_int("top_k", top_k)

    def discount(self, pos: torch.Tensor) -> torch.Tensor:
        """``1 / log2(1 + position)`` in the top ``k``, else 0."""
        weight = 1 / torch.log2(1 + pos.double())
        return weight if self.top_k is None else torch.where(pos <= self.top_k, weight, 0.0)

    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """The ideal DCG of each query: its relevances in decreasing order."""
        order = torch.argsort(relevance, descending=True, stable=True)
        order = order[torch.argsort(query[order], stable=True)]
        start = sizes.cumsum(0) - sizes
        ranks = 1 + torch.arange(query.numel(), device=query.device) - start[query[order]]
        ideal = torch.zeros(sizes.shape, dtype=torch.float64, device=sizes.device)
        return ideal.index_add_(0, query[order], relevance[order] * self.discount(ranks))
