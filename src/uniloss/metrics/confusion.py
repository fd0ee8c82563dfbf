"""Shared by the metrics of a confusion matrix (F-beta, precision, recall, balanced accuracy, IoU, Dice).

Each ``(example, column)`` is one binary: its score compared with a threshold, ``c = s - t`` for a positive
and ``t - s`` for a negative, so a right binary is a true positive or a true negative and a wrong one a
false negative or a false positive. Binaries are laid out in rows that each hold only positives or only
negatives of one column, so the number of wrong binaries in a row adds directly to ``FN`` or ``FP`` of that
column: the engine's per-row counts are then a handful of numbers per anchor, whatever the batch size.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar, Literal, NamedTuple

import torch

from uniloss.core.checks import (
    check_arity,
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

Average = Literal["micro", "macro"]
_AVERAGES = ("micro", "macro")
_ROW_LENGTH = 1024
"""Most binaries in one row; a group of binaries fills ``ceil(size / 1024)`` rows, the last one padded."""


class Counts(NamedTuple):
    """``(K, C)`` int64 counts of true positives, false positives, false negatives and true negatives."""

    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor
    tn: torch.Tensor


class GroupedLayout(NamedTuple):
    """Context of a grouped layout: the group of each row and the number of binaries in each group."""

    row_group: torch.Tensor
    """``(R,)`` int64: group ``2 * column + positive`` of each row."""
    sizes: torch.Tensor
    """``(2 * C,)`` int64 numbers of binaries per group: negatives then positives of each column."""


def check_average(average: object) -> Average:
    """Return ``average`` if it is ``"micro"`` or ``"macro"``, else raise ``ValueError``."""
    if average not in _AVERAGES:
        raise ValueError(f"`average` must be one of {_AVERAGES}, but got {average!r}.")
    return average  # type: ignore[return-value]


def check_threshold(threshold: object) -> float:
    """Return ``threshold`` as a float if it is a finite real number, else raise."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"`threshold` must be a finite float, but got {type(threshold).__name__} {threshold!r}.")
    if not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be a finite float, but got {threshold!r}.")
    return float(threshold)


def check_label_inputs(scores: object, targets: object, num_labels: int | None, infer: bool) -> None:
    """Validate ``scores`` float and ``targets`` in ``{0, 1}``, both ``(N,)`` (binary) or ``(N, L)`` (multi-label).

    With ``infer`` the shape of ``scores`` decides; otherwise ``num_labels`` does (``None``: binary).
    """
    scores = check_tensor("scores", scores)
    targets = check_tensor("targets", targets)
    if infer and scores.ndim not in (1, 2):
        raise ValueError(f"`scores` must have shape (N,) or (N, L), but got {tuple(scores.shape)}.")
    multilabel = scores.ndim == 2 if infer else num_labels is not None
    sizes: dict[str, int] = {} if num_labels is None else {"L": num_labels}
    shape = ("N", "L") if multilabel else ("N",)
    check_shape("scores", scores, shape, sizes)
    check_shape("targets", targets, shape, sizes)
    check_floating("scores", scores)
    check_same_device("scores", scores, targets=targets)
    check_nonempty("scores", scores)
    if multilabel and scores.shape[1] == 0:
        raise ValueError(f"`scores` must have at least one label (L >= 1), but got shape {tuple(scores.shape)}.")
    check_finite_and_range(scores, targets, 0, 1)


def grouped_comparisons(values: torch.Tensor, positive: torch.Tensor, positives_only: bool = False) -> Comparisons:
    """Lay out the ``(N, C)`` oriented comparisons in rows of one group (column and target) each; one device sync.

    Groups run negatives then positives of column 0, then of column 1, ...; a group fills ``ceil(size / L)``
    rows of ``L = min(1024, largest group)`` entries, its binaries in example order. The position of each
    binary in its group is a running count down its column (no sort), and autograd keeps one int32 index.

    Args:
        values: ``(N, C)`` oriented comparisons, differentiable.
        positive: ``(N, C)`` bool, whether the binary's example is a positive of its column.
        positives_only: leave the negatives' binaries out (their counts, ``FP`` and ``TN``, read 0).

    Returns:
        ``Comparisons`` of shape ``(R, L)`` with ``L <= 1024``, a padding mask and a :class:`GroupedLayout`.
    """
    num_examples = positive.shape[0]
    positives = positive.sum(0)
    sizes = torch.stack([torch.zeros_like(positives) if positives_only else num_examples - positives, positives], 1)
    sizes = sizes.flatten()  # (2 C,): negatives then positives of each column
    length = max(1, min(_ROW_LENGTH, int(sizes.max())))
    rows_per_group = (sizes + length - 1) // length
    first_row = rows_per_group.cumsum(0) - rows_per_group
    num_rows = int(rows_per_group.sum())
    index_dtype = torch.int32 if num_rows * length < 2**31 else torch.int64
    starts = (first_row * length).to(index_dtype).view(-1, 2)  # first entry of each group
    seen = positive.cumsum(0, dtype=index_dtype)  # positives up to each example, per column
    if positives_only:
        flat = (starts[:, 1] + seen - 1)[positive]
        values = values[positive]
    else:
        before = torch.arange(num_examples, dtype=index_dtype, device=positive.device).unsqueeze(1) - seen
        flat = torch.where(positive, starts[:, 1] + seen - 1, starts[:, 0] + before).flatten()
        values = values.flatten()
    laid_out = values.new_zeros(num_rows * length).index_put_((flat,), values)
    mask = torch.zeros(num_rows * length, dtype=torch.bool, device=values.device).index_put_(
        (flat,), torch.ones((), dtype=torch.bool, device=values.device)
    )
    row_group = torch.searchsorted(first_row + rows_per_group, torch.arange(num_rows, device=sizes.device), right=True)
    context = GroupedLayout(row_group, sizes)
    return Comparisons(laid_out.view(num_rows, length), mask.view(num_rows, length), context)


def threshold_comparisons(
    scores: torch.Tensor, targets: torch.Tensor, threshold: float, positives_only: bool = False
) -> Comparisons:
    """Every score of ``(N,)`` or ``(N, C)`` against ``threshold``, oriented by its target, in a grouped layout.

    With ``positives_only`` the negatives' binaries are left out (their counts, ``FP`` and ``TN``, read 0).
    """
    scores = scores.unsqueeze(1) if scores.ndim == 1 else scores
    positive = targets.bool().reshape(scores.shape)
    difference = scores - threshold
    return grouped_comparisons(torch.where(positive, difference, -difference), positive, positives_only)


def counts_from_wrong(wrong: torch.Tensor, comparisons: Comparisons) -> Counts:
    """Confusion counts per column from the ``(K, R)`` wrong binaries per row of a grouped layout."""
    layout: GroupedLayout = comparisons.context
    per_group = wrong.new_zeros((wrong.shape[0], layout.sizes.numel())).index_add_(1, layout.row_group, wrong)
    wrong_negatives, wrong_positives = per_group[:, 0::2], per_group[:, 1::2]
    negatives, positives = layout.sizes[0::2], layout.sizes[1::2]
    return Counts(positives - wrong_positives, wrong_negatives, wrong_positives, negatives - wrong_negatives)


def threshold_counts(scores: torch.Tensor, targets: torch.Tensor, threshold: float, ties: Ties) -> Counts:
    """Confusion counts ``(1, C)`` straight from scores.

    A score equal to ``threshold`` is predicted negative (``ties="standard"``) or wrong for either label
    (``"pessimistic"``).
    """
    scores = scores.detach().unsqueeze(1) if scores.ndim == 1 else scores.detach()
    positive = targets.bool().reshape(scores.shape)
    above = scores > threshold
    below = ~above if ties == "standard" else scores < threshold
    return Counts(
        (positive & above).sum(0, keepdim=True),
        (~positive & ~below).sum(0, keepdim=True),
        (positive & ~above).sum(0, keepdim=True),
        (~positive & below).sum(0, keepdim=True),
    )


def ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """``numerator / denominator`` in float64, ``0`` where the denominator is ``0`` (``zero_division=0``)."""
    numerator, denominator = numerator.double(), denominator.double()
    return torch.where(denominator > 0, numerator / torch.where(denominator > 0, denominator, 1.0), 0.0)


def averaged(statistic: Callable[[Counts], torch.Tensor], counts: Counts, average: Average) -> torch.Tensor:
    """``(K,)`` statistic of the summed counts (``"micro"``) or mean of the per-column statistic (``"macro"``)."""
    if average == "micro":
        counts = Counts(*(count.sum(-1, keepdim=True) for count in counts))
    return statistic(counts).mean(-1).to(torch.get_default_dtype())


class ThresholdMetric(MetricRefactoring):
    """Base of the metrics of a confusion matrix at a decision threshold (see this module's docstring).

    A subclass sets ``name`` and implements :meth:`statistic`, the metric per column from the counts; it sets
    ``positives_only`` when the negatives' counts (``FP``, ``TN``) cannot change the metric.
    """

    positives_only: ClassVar[bool] = False
    """Lay out only the positives' binaries (the negatives' counts then read 0)."""

    def __init__(self, threshold: float = 0.0, num_labels: int | None = None, average: Average = "macro") -> None:
        self.threshold = check_threshold(threshold)
        self.num_labels = None if num_labels is None else check_positive_int("num_labels", num_labels)
        self.average = check_average(average)

    @abstractmethod
    def statistic(self, counts: Counts) -> torch.Tensor:
        """``(K, C)`` float64 metric per column of ``(K, C)`` counts."""

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores`` and ``targets`` of shape ``(N,)``, or ``(N, L)`` with ``L = num_labels``."""
        check_arity(self, targets, ("targets",))
        check_label_inputs(scores, targets[0], self.num_labels, infer=False)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """Each score minus the threshold (negated for negatives), grouped by label and target."""
        return threshold_comparisons(scores, targets[0], self.threshold, self.positives_only)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """The metric of the counts: wrong binaries are false negatives (positive rows) or false positives."""
        return averaged(self.statistic, counts_from_wrong(wrong, comparisons), self.average)

    def exact(
        self, scores: torch.Tensor, targets: torch.Tensor, validate_args: bool = True, *, ties: Ties
    ) -> torch.Tensor:
        """The metric of ``(N,)`` or ``(N, L)`` scores thresholded directly (the functional forms' path), a scalar.

        A score equal to the threshold is predicted negative (``ties="standard"``, torchmetrics' ``preds >
        threshold``) or wrong for either label (``"pessimistic"``, the refactoring's value). Checked, non-finite
        scores are refused; unchecked, a NaN in ``scores`` gives NaN.
        """
        ties = check_ties(ties)
        if validate_args:
            check_label_inputs(scores, targets, None, infer=True)
        value = averaged(self.statistic, threshold_counts(scores, targets, self.threshold, ties), self.average)[0]
        return value if validate_args else nan_if_any_nan(value, scores)
