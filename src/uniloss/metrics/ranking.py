"""Shared by the ranking metrics (precision and recall at k, NDCG): items compared within their query.

Each relevant item ``i`` (relevance ``> 0``) is compared with every item ``j`` of its query that is less
relevant, ``c = s_i - s_j``; for graded relevance it is also compared with every more relevant item,
``c = s_j - s_i``. Both are oriented so that a right binary is the ideal order. From the wrong counts,
``above_i = (wrong less relevant) + (more relevant) - (wrong more relevant)`` is the number of items of
other relevance levels ranked above ``i``; items of the same level are placed among themselves by
``above`` (their order does not change the metric), so ``position_i = above_i + (its rank in its level)``.
A tie between two items of different relevance ranks the less relevant one higher (a tie is wrong); the exact
metrics' default (``ties="standard"``) instead averages over the orders of tied items.

Layout: with the items of each query sorted by relevance, the less relevant items of ``i`` are one run of
that order and the more relevant ones another, so each comparison is ``i`` against one entry of a run. A run
is cut into rows of ``L`` entries (its last row padded), every row counting for one item and one direction;
``L`` is chosen from the run lengths to keep padding and rows both few (:func:`row_length`), and empty runs
take no row. Only row-sized indices are stored: the entries' items are recomputed from the runs.

On a configuration that no scores produce, two relevant items may claim the same position; the ``j``-th of a
query by position is moved down to position ``j`` if it is above it, which changes nothing on consistent
configurations and keeps every metric in ``[0, 1]``. A query's metric is
``sum_i gain_i * discount(position_i) / normaliser``, averaged over queries.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

import torch

from uniloss.core.checks import (
    check_arity,
    check_finite,
    check_finite_and_range,
    check_floating,
    check_nonempty,
    check_positive_int,
    check_same_device,
    check_shape,
    check_tensor,
)
from uniloss.core.comparisons import Comparisons
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.base import MetricRefactoring
from uniloss.metrics.confusion import ratio

_ROW_COST = 12
"""Entries one row is worth when choosing the row length: the engine keeps an int64 count per row and anchor
(49 by default), an entry costs it a few dozen bytes; 12 balances the two peaks on queries of ~64 items."""
_CHUNK_ENTRIES = 1 << 16
"""Entries built (or differentiated) at once by :class:`_RunDifferences`."""
_CHUNK_POSITIONS = 1 << 15
"""Item positions computed at once by :meth:`RankingMetric.evaluate_counts` (anchors in chunks)."""


class RankingContext(NamedTuple):
    """Context of a ranking layout: the relevant items (in item order), and the item each row counts for."""

    item_query: torch.Tensor
    """``(I,)`` int64 query index of each relevant item."""
    gain: torch.Tensor
    """``(I,)`` float64 gain (relevance) of each relevant item."""
    normaliser: torch.Tensor
    """``(Q,)`` float64: a query's metric is its discounted gain divided by this (``0`` gives 0)."""
    more_relevant: torch.Tensor | None
    """``(I,)`` int64 number of more relevant items in the item's query; None without such rows."""
    level: torch.Tensor
    """``(I,)`` int64 id of the item's (query, relevance) level, in increasing order."""
    level_start: torch.Tensor
    """``(S,)`` int64 number of relevant items in lower level ids."""
    query_start: torch.Tensor
    """``(Q,)`` int64 number of relevant items in lower query ids."""
    span: int
    """A bound above every position: the largest query's size plus the number of relevant items."""
    row_item: torch.Tensor
    """``(R,)`` int64 relevant item (an index into the ``(I,)`` tensors) each row counts for."""
    less_rows: int
    """Rows ``[0, less_rows)`` count less relevant items above their item, the others more relevant items below."""


class _Runs(NamedTuple):
    """Rows cut from runs of the items sorted by query and relevance: row ``r`` holds ``order[start_r:][:length_r]``."""

    order: torch.Tensor
    """``(N,)`` int64 items sorted by query, then relevance."""
    item: torch.Tensor
    """``(R,)`` int64 item (an index of ``scores``) compared with the run in each row."""
    owner: torch.Tensor
    """``(R,)`` int64 relevant item (an index of the ``(I,)`` relevant items) each row counts for."""
    start: torch.Tensor
    """``(R,)`` int64 first position of each row's run piece in ``order``."""
    length: torch.Tensor
    """``(R,)`` int64 number of real entries of each row, at most ``width``."""
    less_rows: int
    """Rows ``[0, less_rows)`` hold ``s_item - s_other``, the others ``s_other - s_item``."""
    width: int
    """``L``, entries per row."""
    more_relevant: torch.Tensor | None
    """``(I,)`` int64 number of more relevant items of each relevant item (graded relevance), else None."""


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
        check_finite_and_range(scores, targets, 0, 1)
        return
    check_finite("scores", scores)
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
    """``(K, I)`` positions of the relevant items from the ``(K, I)`` numbers of other-level items above them."""
    span = context.span
    pos = above + _rank_in_segment(context.level * span + above, context.level, context.level_start)
    query = context.item_query
    return torch.maximum(pos, _rank_in_segment(query * span + pos, query, context.query_start))


def ranking_value(
    pos: torch.Tensor, context: RankingContext, discount: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``(K,)`` mean over queries of ``sum_items gain * discount(position) / normaliser`` (0 for a normaliser 0)."""
    return _query_mean(context.gain * discount(pos), context)


def _query_mean(weighted: torch.Tensor, context: RankingContext) -> torch.Tensor:
    """``(K,)`` mean over queries of the ``(K, I)`` weighted gains summed per query, divided by the normaliser."""
    total = weighted.new_zeros((weighted.shape[0], context.normaliser.numel()))
    total.index_add_(1, context.item_query, weighted)
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


def _tie_averaged_discounts(
    scores: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor, discount: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``(N,)`` mean discount over the positions each item's group of tied scores occupies in its query.

    The expected discount of an item when tied scores are ordered at random: scikit-learn's ``ndcg_score``
    (``ignore_ties=False``) averages the gains of a tie group over its positions, which is the same sum.
    """
    order = torch.argsort(scores.detach(), descending=True, stable=True)
    order = order[torch.argsort(query[order], stable=True)]
    ranked, owner = scores.detach()[order], query[order]
    first = torch.ones_like(owner, dtype=torch.bool)
    first[1:] = (owner[1:] != owner[:-1]) | (ranked[1:] != ranked[:-1])
    group = first.cumsum(0) - 1
    group_sizes = torch.bincount(group)
    start = (torch.arange(owner.numel(), device=owner.device) - _starts(sizes)[owner])[first]  # 0-based position
    weights = discount(torch.arange(1, int(sizes.max()) + 1, device=owner.device).unsqueeze(0))[0]
    cumulative = torch.cat([weights.new_zeros(1), weights.cumsum(0)])
    mean = (cumulative[start + group_sizes] - cumulative[start]) / group_sizes
    per_item = mean.new_empty(order.shape)
    per_item[order] = mean[group]
    return per_item


def row_length(lengths: torch.Tensor) -> int:
    """The row length ``L`` that cuts runs of these ``(S,)`` lengths into the fewest entries plus rows.

    Formally ``argmin_L sum_s ceil(length_s / L) * (L + c)`` over ``L`` in a geometric grid up to the longest run
    (``c`` a row's cost in entries); one device sync, then work on the distinct lengths only.
    """
    values, counts = torch.unique(lengths[lengths > 0], return_counts=True)
    if values.numel() == 0:
        return 1
    values, counts = values.cpu(), counts.cpu()
    longest = int(values[-1])
    grid = sorted({min(longest, round(2 ** (step / 4))) for step in range(4 * longest.bit_length() + 1)})
    widths = torch.tensor(grid).unsqueeze(1)
    costs = (counts * ((values + widths - 1) // widths)).sum(1) * (widths.squeeze(1) + _ROW_COST)
    return grid[int(costs.argmin())]  # the first of equal costs: the narrowest


def runs_layout(
    relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor, items: torch.Tensor, graded: bool
) -> _Runs:
    """The rows of the module docstring for the relevant ``items`` (``(I,)`` indices, in item order)."""
    levels, level_sizes = _levels(relevance, query)
    order = torch.argsort(levels, stable=True)  # by query, then relevance
    query_start = _starts(sizes)[query[items]]
    level_start = _starts(level_sizes)[levels[items]]
    starts, lengths = [query_start], [level_start - query_start]  # the less relevant items
    if graded:
        level_end = level_start + level_sizes[levels[items]]
        starts.append(level_end)
        lengths.append(query_start + sizes[query[items]] - level_end)  # the more relevant items
    run_start, run_length = torch.cat(starts), torch.cat(lengths)
    width = row_length(run_length)
    pieces = (run_length + width - 1) // width
    less_rows, num_rows = torch.stack([pieces[: items.numel()].sum(), pieces.sum()]).tolist()
    run = torch.repeat_interleave(pieces, output_size=num_rows)
    piece = torch.arange(num_rows, device=run.device) - _starts(pieces)[run]
    owner = torch.arange(items.numel(), device=items.device).repeat(len(starts))[run]
    return _Runs(
        order=order,
        item=items[owner],
        owner=owner,
        start=run_start[run] + piece * width,
        length=(run_length[run] - piece * width).clamp_max(width),
        less_rows=less_rows,
        width=width,
        more_relevant=lengths[1] if graded else None,
    )


def _chunks(runs: _Runs) -> Iterator[tuple[slice, float]]:
    """Row slices of at most ``_CHUNK_ENTRIES`` entries, each within one direction, with its sign."""
    step = max(1, _CHUNK_ENTRIES // runs.width)
    for first, last, sign in ((0, runs.less_rows, 1.0), (runs.less_rows, runs.item.numel(), -1.0)):
        for start in range(first, last, step):
            yield slice(start, min(start + step, last)), sign


def _entries(runs: _Runs, part: slice, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rows, L)`` positions in ``order`` of the entries of rows ``part`` (clamped), and which are real."""
    columns = torch.arange(runs.width, device=runs.start.device)
    real = columns < runs.length[part].unsqueeze(1)
    return (runs.start[part].unsqueeze(1) + columns).clamp_max(count - 1), real


class _RunDifferences(torch.autograd.Function):
    """``(R, L)`` oriented differences of each row's item and its run of items, 0 on padding.

    Autograd keeps only the row-sized description of the runs (no ``(R, L)`` index); the backward rebuilds the
    entries' positions chunk by chunk.
    """

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, runs: _Runs) -> torch.Tensor:
        values = scores.new_empty((runs.item.numel(), runs.width))
        sorted_scores = scores[runs.order]
        for part, sign in _chunks(runs):
            index, real = _entries(runs, part, scores.numel())
            difference = scores[runs.item[part]].unsqueeze(1) - sorted_scores[index]
            values[part] = (difference if sign > 0 else difference.neg_()).masked_fill_(~real, 0.0)
        ctx.runs, ctx.count = runs, scores.numel()
        return values

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        runs: _Runs = ctx.runs
        grad_scores = grad.new_zeros(ctx.count)
        grad_sorted = grad.new_zeros(ctx.count)
        for part, sign in _chunks(runs):
            index, real = _entries(runs, part, ctx.count)
            weights = torch.where(real, grad[part], 0.0)
            if sign < 0:
                weights.neg_()
            grad_scores.index_put_((runs.item[part],), weights.sum(1), accumulate=True)
            grad_sorted.index_put_((index.reshape(-1),), weights.reshape(-1).neg(), accumulate=True)
        grad_scores[runs.order] += grad_sorted  # a permutation
        return grad_scores, None


class RankingMetric(MetricRefactoring):
    """Base of the ranking metrics: see this module's docstring.

    A subclass sets ``name`` and ``graded`` and implements :meth:`discount` and :meth:`normaliser`.
    """

    graded: ClassVar[bool] = False
    """Whether targets are graded relevances ``>= 0`` (gain = relevance) rather than ``{0, 1}``."""
    poolable = False  # query ids of different batches would merge unrelated queries

    @abstractmethod
    def discount(self, pos: torch.Tensor) -> torch.Tensor:
        """Float64 weight of an item at each position (``(K, I)`` int64 positions from 1)."""

    @abstractmethod
    def normaliser(self, relevance: torch.Tensor, query: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """``(Q,)`` float64 normaliser of each query from the ``(N,)`` float64 relevances."""

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N,)``, ``targets (N,)`` and optional ``groups (N,)`` (query ids)."""
        check_arity(self, targets, ("targets",), ("targets", "groups"))
        check_ranking_inputs(scores, targets[0], targets[1] if len(targets) == 2 else None, self.graded)

    def _layout(
        self, targets: torch.Tensor, groups: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, RankingContext]:
        """Relevances, query of each item, query sizes, the relevant items and the context."""
        query, sizes = queries(groups, targets.shape[0], targets.device)
        relevance = targets.double()
        items = (relevance > 0).nonzero().squeeze(1)
        levels = _levels(relevance[items], query[items]) if items.numel() else (items, items)
        context = RankingContext(
            item_query=query[items],
            gain=relevance[items],
            normaliser=self.normaliser(relevance, query, sizes),
            more_relevant=None,
            level=levels[0],
            level_start=_starts(levels[1]),
            query_start=_starts(torch.bincount(query[items], minlength=sizes.numel())),
            span=int(sizes.max()) + items.numel() + 1,
            row_item=items[:0],
            less_rows=0,
        )
        return relevance, query, sizes, items, context

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(R, L)`` rows of one relevant item against a run of less (or more) relevant items: see this module."""
        relevance, query, sizes, items, context = self._layout(targets[0], targets[1] if len(targets) == 2 else None)
        runs = runs_layout(relevance, query, sizes, items, self.graded)
        mask = torch.arange(runs.width, device=scores.device) < runs.length.unsqueeze(1)
        context = context._replace(row_item=runs.owner, less_rows=runs.less_rows, more_relevant=runs.more_relevant)
        return Comparisons(_RunDifferences.apply(scores, runs), mask, context)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """The metric at the positions given by the rows' wrong counts (see this module's docstring)."""
        context: RankingContext = comparisons.context
        split = context.less_rows
        above = wrong.new_zeros((wrong.shape[0], context.gain.numel()))
        above.index_add_(1, context.row_item[:split], wrong[:, :split])
        if context.more_relevant is not None:
            above.index_add_(1, context.row_item[split:], wrong[:, split:], alpha=-1)
            above += context.more_relevant
        step = max(1, _CHUNK_POSITIONS // max(1, above.shape[1]))
        values = [
            ranking_value(positions(above[start : start + step], context), context, self.discount)
            for start in range(0, above.shape[0], step)
        ]
        return torch.cat(values) if values else above.new_zeros(0, dtype=torch.get_default_dtype())

    def exact(
        self,
        scores: torch.Tensor,
        targets: torch.Tensor,
        groups: torch.Tensor | None,
        validate_args: bool = True,
        *,
        ties: Ties,
    ) -> torch.Tensor:
        """The metric computed from a sort of the scores (the functional forms' path), a scalar.

        ``ties="standard"`` averages each item's discount over the positions of its group of tied scores (the
        expected value over orders of the tied items); ``"pessimistic"`` ranks the less relevant of two tied
        items first (the refactoring's value). Checked, non-finite scores are refused; unchecked, a NaN in
        ``scores`` (or float ``targets``) gives NaN.
        """
        ties = check_ties(ties)
        if validate_args:
            check_ranking_inputs(scores, targets, groups, self.graded)
        relevance, query, sizes, items, context = self._layout(targets, groups)
        if ties == "standard":
            discounts = _tie_averaged_discounts(scores, query, sizes, self.discount)[items]
            value = _query_mean((context.gain * discounts).unsqueeze(0), context)[0]
        else:
            above = _other_level_items_above(scores, relevance, query)[items]
            value = ranking_value(positions(above.unsqueeze(0), context), context, self.discount)[0]
        return value if validate_args else nan_if_any_nan(value, scores, targets)


class CutoffMetric(RankingMetric):
    """Base of precision and recall at ``k``: binary relevance, weight 1 in the first ``top_k`` positions.

    A subclass sets ``name`` and implements :meth:`normaliser`.
    """

    def __init__(self, top_k: int) -> None:
        self.top_k = check_positive_int("top_k", top_k)

    def discount(self, pos: torch.Tensor) -> torch.Tensor:
        """1 in the top ``k``, else 0."""
        return (pos <= self.top_k).double()
