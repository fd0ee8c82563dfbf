"""Retrieval tasks: precision, recall and NDCG at ``k`` of an embedding, every example a query of the others.

The model outputs an embedding per example. Each example of a batch (or of a split, for the metric) is a query;
the other examples are its gallery, ranked by cosine similarity, and relevant when they share its class. UniLoss
trains the metric of these rankings (``PrecisionAtK``, ``RecallAtK`` or ``NDCG`` with one group per query) on
the scores of :func:`query_pairs`; the baseline is the contrastive loss of :func:`contrastive_loss`; the peers of
``pytorch-metric-learning`` take the embeddings and labels themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from uniloss import exact
from uniloss.metrics import NDCG, MetricRefactoring, PrecisionAtK, RecallAtK
from uniloss_lab.train.peers import MetricLearningLoss
from uniloss_lab.train.tasks.base import Task, _Accumulator

__all__ = ["SIMILARITY_SCALE", "contrastive_loss", "query_pairs", "retrieval_metric"]

SIMILARITY_SCALE = 10.0
"""A query's scores are this times the cosine similarities: UniLoss's sigmoid (temperature 1) sees differences
of up to 20, as it sees logits elsewhere; the ranking, and so every exact metric, does not depend on it."""
_QUERY_CHUNK = 256
"""Queries ranked at once by :func:`retrieval_metric` (each against the whole split)."""
_EXACT: dict[str, Callable[..., torch.Tensor]] = {
    "precision_at_k": exact.precision_at_k,
    "recall_at_k": exact.recall_at_k,
    "ndcg": exact.ndcg,
}


def _at_least_float32(embeddings: torch.Tensor) -> torch.Tensor:
    """Half-precision embeddings in float32; float32 and float64 as they are."""
    return embeddings.to(torch.promote_types(embeddings.dtype, torch.float32))


def _query_rows(
    embeddings: torch.Tensor, labels: torch.Tensor, queries: slice | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Q, N)`` scores, relevance (bool) and gallery mask (every item but the query) of the ``queries`` rows."""
    unit = F.normalize(_at_least_float32(embeddings), dim=1)
    rows = range(unit.shape[0])[queries or slice(None)]
    index = torch.arange(rows.start, rows.stop, device=unit.device)
    similarity = SIMILARITY_SCALE * unit[index] @ unit.T
    gallery = index[:, None] != torch.arange(unit.shape[0], device=unit.device)[None, :]
    return similarity, labels[index][:, None] == labels[None, :], gallery


def query_pairs(
    embeddings: torch.Tensor, labels: torch.Tensor, queries: slice | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ranking problems of a batch: every example (or those of ``queries``) a query, the others its gallery.

    Formally, for query ``q`` and gallery item ``g != q``: score ``SIMILARITY_SCALE * cos(e_q, e_g)``, relevance
    ``labels[g] == labels[q]`` and group ``q``, flattened in query order.

    Args:
        embeddings: ``(N, D)`` float embeddings.
        labels: ``(N,)`` int classes.
        queries: the rows that are queries (``None``: all); group ids are the rows' indices.

    Returns:
        ``(scores, relevance, groups)``, each ``(Q * (N - 1),)``: float, int64 in ``{0, 1}``, int64.

    Example:
        >>> scores, relevance, groups = query_pairs(torch.eye(3)[[0, 0, 1]], torch.tensor([5, 5, 7]))
        >>> scores.tolist(), relevance.tolist(), groups.tolist()
        ([10.0, 0.0, 10.0, 0.0, 0.0, 0.0], [1, 0, 1, 0, 0, 0], [0, 0, 1, 1, 2, 2])
    """
    similarity, relevance, gallery = _query_rows(embeddings, labels, queries)
    start = (queries or slice(None)).indices(embeddings.shape[0])[0]
    groups = start + torch.arange(similarity.shape[0], device=similarity.device)[:, None].expand_as(similarity)
    return similarity[gallery], relevance.long()[gallery], groups[gallery]


def retrieval_metric(name: str, embeddings: torch.Tensor, labels: torch.Tensor, top_k: int) -> torch.Tensor:
    """Exact ``name`` at ``top_k`` (``"precision_at_k"``, ``"recall_at_k"``, ``"ndcg"``), mean over every query.

    Each example is a query of the others (:func:`query_pairs`), :data:`_QUERY_CHUNK` queries at a time, so a
    split of ``N`` examples needs memory for ``256 * N`` scores, not ``N * N``. Ties are averaged over their
    orders (the exact metrics' standard). Only what can change the value is ranked: a query's items scored at or
    above its ``k``-th score (ties at the cut included), and for recall (all) and NDCG (``k`` of them, for the
    ideal ranking) its other relevant items, moved below the cut.

    Example:
        >>> embeddings, labels = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]]), torch.tensor([0, 0, 1])
        >>> round(float(retrieval_metric("precision_at_k", embeddings, labels, top_k=1)), 4)  # the third: no match
        0.6667
    """
    metric, count = _EXACT[name], embeddings.shape[0]
    if count < 2:  # no gallery: every query scores 0, as a query without a relevant item does
        return torch.zeros(())
    cut = min(top_k, count - 1)
    total = torch.zeros((), dtype=torch.float64)
    for start in range(0, count, _QUERY_CHUNK):
        scores, relevant, gallery = _query_rows(embeddings, labels, slice(start, start + _QUERY_CHUNK))
        kth = scores.masked_fill(~gallery, -torch.inf).topk(cut, dim=1).values[:, -1:]
        keep = gallery & (scores >= kth)
        if name != "precision_at_k":
            below = gallery & relevant & ~keep
            if name == "ndcg":
                below &= below.cumsum(1) <= top_k
            scores, keep = torch.where(below, kth - 1, scores), keep | below
        groups = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(scores)
        value = metric(scores[keep], relevant.long()[keep], groups[keep], top_k=top_k, validate_args=False)
        total += float(value) * scores.shape[0]
    return (total / count).float()


def contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """The contrastive loss (Hadsell, Chopra, LeCun, CVPR 2006) over every pair of a batch; the retrieval baseline.

    Formally, with ``d`` the Euclidean distance of two L2-normalised embeddings (in ``[0, 2]``),
    ``mean over pairs of [same class] d^2 + [other class] max(0, margin - d)^2``.

    Example:
        >>> round(float(contrastive_loss(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]))), 4)
        0.0
        >>> round(float(contrastive_loss(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))), 4)
        2.0
    """
    unit = F.normalize(_at_least_float32(embeddings), dim=1)
    count = unit.shape[0]
    pairs = torch.triu_indices(count, count, offset=1, device=unit.device)
    if pairs.shape[1] == 0:  # one example: no pair, 0 with a zero gradient
        return unit.sum() * 0.0
    distance = (unit[pairs[0]] - unit[pairs[1]]).norm(dim=1)
    same = labels[pairs[0]] == labels[pairs[1]]
    return torch.where(same, distance**2, (margin - distance).clamp(min=0) ** 2).mean()


class _RetrievalTask(Task):
    """Precision, recall or NDCG at ``config.top_k`` of the ``(N, D)`` embedding, every example a query.

    UniLoss (and a given ``criterion``) gets ``(scores, relevance, groups)`` of :func:`query_pairs`; a peer gets
    the embeddings and the labels; the metric is pooled over the whole split (every example a query of it).
    """

    def _refactoring(self) -> MetricRefactoring:
        metric = {"precision_at_k": PrecisionAtK, "recall_at_k": RecallAtK, "ndcg": NDCG}[self.config.task]
        return metric(top_k=self.config.top_k)

    def loss(
        self, outputs: Any, targets: tuple[torch.Tensor, ...], indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        (labels,) = targets
        if self.criterion is None:
            return self._baseline(outputs, labels)
        peer = isinstance(self.criterion, MetricLearningLoss)  # a peer takes the embeddings themselves
        arguments = (outputs, labels) if peer else query_pairs(outputs, labels)
        loss = self._criterion(*arguments, indices=indices)
        if self.config.task_weight and self.config.loss == "uniloss":
            loss = loss + self.config.task_weight * self._baseline(outputs, labels)
        return loss

    def _baseline(self, outputs: Any, target: torch.Tensor) -> torch.Tensor:
        return contrastive_loss(outputs, target)

    def _pooled(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return retrieval_metric(self.config.task, embeddings, labels, self.config.top_k)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        return float(self._pooled(outputs.detach(), targets[0])), float(outputs.shape[0])

    def accumulator(self) -> _Accumulator:
        return _Accumulator(self._pooled)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        accumulator.add_scores(outputs, targets[0])
