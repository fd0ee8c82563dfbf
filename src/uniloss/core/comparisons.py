"""Step 2 of the refactoring: the comparisons of a batch, laid out as rows of pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Comparisons"]


@dataclass(frozen=True)
class Comparisons:
    """The comparisons ``c = D s`` of one batch, laid out as a matrix of rows.

    Formally, entry ``(r, l)`` is a difference of two scores (or of a score and a threshold), oriented so
    that ``c[r, l] > 0`` means the pair is ordered the way the perfect prediction orders it. The binary
    variable of that entry is ``b = sign(c)``: ``+1`` right, ``-1`` wrong (a tie, ``c == 0``, counts as wrong).
    Rows are the unit that metrics count in: many metrics depend on a configuration only through the number
    of wrong binaries in each row (see :meth:`uniloss.metrics.MetricRefactoring.evaluate_counts`).

    Args:
        values: ``(R, L)`` float tensor of oriented score differences, differentiable w.r.t. the scores.
        mask: optional ``(R, L)`` bool tensor; ``False`` marks padding that is not a binary variable of the
            metric. Padding is treated as always right and never enters a distance or a count.
        context: anything else the metric needs to evaluate a configuration (for example the joint each
            row belongs to). The engine passes it through untouched.

    Example:
        >>> c = Comparisons(torch.tensor([[0.5, -1.0]]))
        >>> c.num_binaries
        2
    """

    values: torch.Tensor
    mask: torch.Tensor | None = None
    context: Any = None

    @property
    def shape(self) -> tuple[int, int]:
        """The layout ``(R, L)``: number of rows and entries per row."""
        rows, length = self.values.shape
        return rows, length

    @property
    def num_binaries(self) -> int:
        """Number of entries ``R * L`` of the layout, padding included (a static, sync-free size)."""
        return self.values.numel()
