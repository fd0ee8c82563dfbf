"""Shared by the ranking metrics (precision and recall at k, NDCG): items compared within their query.

Each relevant item ``i`` (relevance ``> 0``) is a row compared with every item ``j`` of its query that is less
relevant, ``c = s_i - s_j``; for graded relevance a second row compares it with every more relevant item,
``c = s_j - s_i``. Both are oriented so that a right binary is the ideal order. From the wrong counts,
``above_i = (wrong less relevant) + (more relevant) - (wrong more relevant)`` is the number of items of
other relevance levels ranked above ``i``; items of the same level are placed among themselves by
``above`` (their order does not change the metric), so ``position_i = above_i + (its rank in its level)``.
A tie between two items of different relevance ranks the less relevant one higher (a tie is wrong).

On a configuration that no scores produce, two rows may claim the same position; the ``j``-th row of a
query by position is moved down to position ``j`` if it is above it, which changes nothing on consistent
configurations and keeps every metric in ``[0, 1]``. A query's metric is
``sum_i gain_i * discount(position_i) / normaliser``, averaged over queries.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import torch

from uniloss.core.checks import (
    check_finite,
    check_floating,
    check_integer_range,
    check_nonempty,
    check_same_device,
    check_shape,
    check_tensor,
)
from uniloss.core.comparisons import Comparisons
from uniloss.metrics._confusion import ratio
from uniloss.metrics.base import MetricRefactoring


class RankingContext(NamedTuple):
    """Context of a ranking layout (rows are the relevant items, in item order)."""

    row_query: torch.Tensor
    """``(R,)`` int64 query index of each row."""
    gain: torch.Tensor
    """``(R,)`` float64 gain (relevance) of each row."""
    normaliser: torch.Tensor
    """``(Q,)`` float64: a query's metric is its discounted gain divided by this (``0`` gives 0)."""
    more_relevant: torch.Tensor | None
    """``(R,)`` int64 number of more relevant items in the row's query; None without a second row."""
    level: torch.Tensor
    """``(R,)`` int64 id of the row's (query, relevance) level, in increasing order."""
    level_start: torch.Tensor
    """``(S,)`` int64 number of rows in lower level ids."""
    query_start: torch.Tensor
    """``(Q,)`` int64 number of rows in lower query ids."""
    span: int
    """A bound above every position: the largest query's size plus the number of rows."""


def check_ranking_inputs(scores: object, targets: object, groups: object, graded: bool) -> None:
    """Validate ``scores (N,)`` float, ``targets (N,)`` (``{0, 1}``, or ``>= 0`` if ``graded``), ``groups (N,)`` int."""
    scores = check_tensor("scores", scores)
    targets = check_tensor("targets", targets)
    sizes: dict[str, int] = {}
    check_shape("scores", scores, ("N",), sizes)
    check_shape("targets", targets, ("N",), sizes)
    check_floating("scores", scores)
    check_same_device("scores", scores, targets=targets)
    if groups is not None:
        groups = check_tensor("groups", groups)
        check_shape("groups", groups, ("N",), sizes)
        if groups.is_floating_point() or groups.is_complex() or groups.dtype == torch.bool:
            raise TypeError(f"`groups` must be an integer tensor, but got {groups.dtype}.")
        check_same_device("scores", scores, groups=groups)
    check_nonempty("scores", scores)
    if not graded:
        check_integer_range("targets", targets, 0, 1)
        return
    if targets.is_complex():
        raise TypeError(f"`targets` must be a real tensor, but got {targets.dtype}.")
    if targets.is_floating_point():
        check_finite("targets", targets)
    if bool((targets < 0).any()):
        raise ValueError(f"`targets` must be non-negative, but got a minimum of {targets.min().item()}.")


def queries(groups: torch.Tensor | None, num_items: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N,)`` query index of each item in ``[0, Q)`` and ``(Q,)`` query sizes; one query when ``groups`` is None."""
    if groups is None:
        return torch.zeros(num_items, dtype=torch.long, device=device), torch.tensor([num_items], device=device)
    _, query, sizes = torch.unique(groups, return_inverse=True, return_counts=True)
    return query, sizes


def _starts(counts: torch.Tensor) -> torch.Tensor:
    return counts.cumsum(0) - counts


def _rank_in_segment(keys: torch.Tensor, segment: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """1-based rank of each entry of ``(K, R)`` keys within its segment, by key then index (``key`` segment-major)."""
    order = keys.argsort(dim=-1, stable=True)
    ranks = torch.arange(1, keys.shape[-1] + 1, device=keys.device) - start[segment[order]]
    return torch.empty_like(ranks).scatter_(-1, order, ranks)


def positions(above: torch.Tensor, context: RankingContext) -> torch.Tensor:
    """``(K, R)`` positions of the rows from the ``(K, R)`` numbers of other-level items above them."""
    span = context.span
    pos = above + _rank_in_segment(context.level * span + above, context.level, context.level_start)
    return torch.maximum(pos, _rank_in_segment(context.row_query * span + pos, context.row_query, context.query_start))


def ranking_value(
    pos: torch.Tensor, context: RankingContext, discount: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``(K,)`` mean over queries of ``sum_rows gain * discount(position) / normaliser`` (0 for a normaliser 0)."""
    weighted = context.gain * discount(pos)
    total = weighted.new_zeros((pos.shape[0], context.normaliser.numel()))
    total.index_add_(1, context.row_query, weighted)
    return ratio(total, context.normaliser).mean(-1).to(torch.get_default_dtype())


def _levels(relevance: torch.Tensor, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N,)`` id of each item's (query, relevance) level in increasing order, and ``(S,)`` level sizes."""
    level = torch.unique(relevance, return_inverse=True)[1]
    _, ids, sizes = torch.unique(query * (int(level.max()) + 1) + level, return_inverse=True, return_counts=True)
    return ids, sizes


def _other_level_items_above(scores: torch.Tensor, relevance: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """``(N,)`` number of items of another relevance level in the query ranked above each item, from a sort.

    The ranking sorts by decreasing score and, within a tie, by increasing relevance (a tie is wrong).
    """
    order = torch.argsort(relevance, stable=True)
    order = order[torch.argsort(scores.detach()[order], descending=True, stable=True)]
    order = order[torch.argsort(query[order], stable=True)]
    levels, level_sizes = _levels(relevance, query)
    index = torch.arange(query.numel(), device=query.device)
    before = index - _starts(torch.bincount(query))[query[order]]  # items of the query ranked above
    by_level = torch.argsort(levels[order], stable=True)
    same_level = torch.empty_like(index)
    same_level[by_level] = index - _starts(level_sizes)[levels[order][by_level]]  # items of the level above
    above = torch.empty_like(index)
    above[order] = before - same_level
    return above


def query_comparisons(
    scores: torch.Tensor, rows: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R, M - 1)`` differences ``s_i - s_j`` of each row's item and the other items of its query, and the items.

    ``M`` is the largest query; the items of padding entries are ``-1``. One device sync (the width).
    """
    num_items = query.numel()
    order = torch.argsort(query, stable=True)  # items query by query
    start = _starts(sizes)
    position = torch.empty_like(order)
    position[order] = torch.arange(num_items, device=query.device) - start[query[order]]
    columns = torch.arange(int(sizes.max()) - 1, device=query.device)
    row_query = query[rows]
    other = columns + (columns >= position[rows].unsqueeze(1))  # positions in the query, skipping the item
    items = order[(start[row_query].unsqueeze(1) + other).clamp_max(num_items - 1)]
    items = torch.where(other < sizes[row_query].unsqueeze(1), items, -1)
    return scores[rows].unsqueeze(1) - scores[items], items


class RankingMetric(MetricRefactoring):
    """Base of the ranking metrics: see this module's docstring.

    A subclass sets ``name`` and ``graded`` and implements :meth:`discount` and :meth:`normaliser`.
    """

    graded: ClassVar[bool] = False
    """Whether targets are graded relevances ``>= 0`` (gain = relevance) rather than ``{0, 1}``."""

    @abstractmethod
    def discount(self, pos: torch.Tensor) -> torch.Tensor:
        """Float64 weight of an item at each position (``(K, R)`` int64 positions from 1)."""

    @abstractmethod
    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """``(Q,)`` float64 normaliser of each query from the ``(N,)`` float64 relevances."""

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N,)``, ``targets (N,)`` and optional ``groups (N,)`` (query ids)."""
        if len(targets) not in (1, 2):
            raise TypeError(
                f"{type(self).__name__} takes (scores, targets) or (scores, targets, groups), "
                f"but got {1 + len(targets)} tensors."
            )
        check_ranking_inputs(scores, targets[0], targets[1] if len(targets) == 2 else None, self.graded)

    def _layout(
        self, targets: torch.Tensor, groups: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, RankingContext]:
        """Relevances, query of each item, query sizes, rows (relevant items) and the context."""
        query, sizes = queries(groups, targets.shape[0], targets.device)
        relevance = targets.double()
        rows = (relevance > 0).nonzero().squeeze(1)
        levels = _levels(relevance[rows], query[rows]) if rows.numel() else (rows, rows)
        context = RankingContext(
            row_query=query[rows],
            gain=relevance[rows],
            normaliser=self.normaliser(relevance, query, sizes),
            more_relevant=None,
            level=levels[0],
            level_start=_starts(levels[1]),
            query_start=_starts(torch.bincount(query[rows], minlength=sizes.numel())),
            span=int(sizes.max()) + rows.numel() + 1,
        )
        return relevance, query, sizes, rows, context

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(R, M - 1)`` (or ``(2R, M - 1)`` for graded relevance): see this module's docstring."""
        relevance, query, sizes, rows, context = self._layout(targets[0], targets[1] if len(targets) == 2 else None)
        values, items = query_comparisons(scores, rows, query, sizes)
        other = torch.where(items >= 0, relevance[items], torch.inf)  # padding is in neither row
        less = other < relevance[rows].unsqueeze(1)
        if not self.graded:
            return Comparisons(values, less, context)
        more = (other > relevance[rows].unsqueeze(1)) & (items >= 0)
        context = context._replace(more_relevant=more.sum(1))
        return Comparisons(torch.cat([values, -values]), torch.cat([less, more]), context)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """The metric at the positions given by the rows' wrong counts (see this module's docstring)."""
        context: RankingContext = comparisons.context
        above = wrong[:, : context.gain.numel()]
        if context.more_relevant is not None:
            above = above + context.more_relevant - wrong[:, context.gain.numel() :]
        return ranking_value(positions(above, context), context, self.discount)

    def exact(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor | None) -> torch.Tensor:
        """The metric computed from a sort of the scores (the functional forms' path), a scalar."""
        relevance, query, _, rows, context = self._layout(targets, groups)
        above = _other_level_items_above(scores, relevance, query)[rows]
        return ranking_value(positions(above.unsqueeze(0), context), context, self.discount)[0]
