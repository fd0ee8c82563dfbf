"""Average precision of a binary, possibly unbalanced, batch: positives compared with negatives."""

from __future__ import annotations

from typing import Literal

import torch

from uniloss.core.checks import check_arity
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import register
from uniloss.interpolators import InverseDistanceWeighting
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.base import DefaultParts, MetricRefactoring
from uniloss.metrics.ranking import check_ranking_inputs

__all__ = ["AveragePrecision", "average_precision"]

Mode = Literal["step", "interpolated"]
_MODES = ("step", "interpolated")
Layout = Literal["compact", "static"]
_LAYOUTS = ("compact", "static")


def _check_mode(mode: object) -> Mode:
    if mode not in _MODES:
        raise ValueError(f"`mode` must be one of {_MODES}, but got {mode!r}.")
    return mode  # type: ignore[return-value]


def _precision_at_positives(wrong: torch.Tensor, mode: Mode, rows: torch.Tensor | None = None) -> torch.Tensor:
    """AP from ``(K, R)`` counts of negatives ranked at or above each positive; 0 without positives.

    ``rows`` optionally marks which of the ``R`` rows are positives (the others are ignored), with no device
    sync: the number of positives stays a tensor.
    """
    num_rows = wrong.shape[-1]
    if num_rows == 0:
        return torch.zeros(wrong.shape[:-1], dtype=torch.get_default_dtype(), device=wrong.device)
    ranks = torch.arange(1, num_rows + 1, device=wrong.device, dtype=torch.float64)
    if rows is None:  # every row a positive: fewest operations (this runs on every step of the loss)
        precision = ranks / (wrong.sort(dim=-1).values + ranks)
        count = None
    else:
        # Rows that are not positives sort last (their count exceeds any real one) and are then dropped.
        above = torch.where(rows, wrong, num_rows + 1).sort(dim=-1).values.to(torch.float64)
        count = rows.sum().to(torch.float64)
        precision = torch.where(ranks <= count, ranks / (ranks + above), 0.0)
    if mode == "interpolated":
        precision = precision.flip(-1).cummax(-1).values.flip(-1)
    mean = precision.mean(-1) if count is None else precision.sum(-1) / count.clamp_min(1)
    return mean.to(torch.get_default_dtype())


def _standard_precision(scores: torch.Tensor, positive: torch.Tensor, mode: Mode) -> torch.Tensor:
    """AP with each positive's precision at the threshold of its own score, tied scores forming one threshold."""
    negatives = scores[~positive].sort().values
    positives = scores[positive].sort().values
    if positives.numel() == 0:
        return torch.zeros((), dtype=torch.get_default_dtype(), device=scores.device)
    at_or_above = positives.numel() - torch.searchsorted(positives, positives, right=False)  # true positives
    wrong = negatives.numel() - torch.searchsorted(negatives, positives, right=False)  # false positives
    precision = at_or_above.double() / (at_or_above + wrong)  # ascending scores: descending ranks
    if mode == "interpolated":  # the largest precision at this or a lower score
        precision = precision.cummax(0).values
    return precision.mean().to(torch.get_default_dtype())


def average_precision(
    scores: torch.Tensor,
    targets: torch.Tensor,
    mode: Mode = "step",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact average precision of a batch, computed from the scores (not differentiable).

    Formally ``AP = mean_p TP(s_p) / (TP(s_p) + FP(s_p))`` over positives ``p``, with ``TP(t)`` and ``FP(t)`` the
    positives and negatives scored at or above ``t`` (``mode="step"``, ``ties="standard"``: scikit-learn's
    ``average_precision_score`` and torchmetrics' ``binary_average_precision``, tied scores forming one
    threshold). ``mode="interpolated"`` first replaces each precision by the largest at the same or a lower
    score, as the UniLoss paper's code does. With ``ties="pessimistic"`` (the refactoring's value, ``evaluate``
    of the hard step) a negative tied with a positive ranks above it and tied positives are ordered among
    themselves: with ``k_(1) <= ... <= k_(P)`` the sorted numbers of negatives at or above each positive,
    ``AP = mean_j j / (j + k_(j))``. Both rules agree without ties. A batch with no positive has AP 0
    (scikit-learn's value); one with no negative has AP 1.

    Args:
        scores: ``(N,)`` float scores, higher means more likely positive.
        targets: ``(N,)`` bool or int in ``{0, 1}``.
        mode: ``"step"`` (default) or ``"interpolated"``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: tied scores form one threshold) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores`` or float ``targets``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, targets outside ``{0, 1}``, or an
            unknown ``mode`` or ``ties``.

    Example:
        >>> average_precision(torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 0]))
        tensor(0.8333)
        >>> constant, targets = torch.zeros(4), torch.tensor([1, 0, 1, 0])
        >>> average_precision(constant, targets), average_precision(constant, targets, ties="pessimistic")
        (tensor(0.5000), tensor(0.4167))
    """
    mode = _check_mode(mode)
    ties = check_ties(ties)
    if validate_args:
        check_ranking_inputs(scores, targets, None, graded=False)
    positive = targets.bool()
    if ties == "standard":
        value = _standard_precision(scores.detach(), positive, mode)
    else:
        negatives = scores.detach()[~positive].sort().values
        above = negatives.numel() - torch.searchsorted(negatives, scores.detach()[positive], right=False)
        value = _precision_at_positives(above.unsqueeze(0), mode)[0]
    return value if validate_args else nan_if_any_nan(value, scores)


@register
class AveragePrecision(MetricRefactoring):
    """Average precision as a UniLoss refactoring: every positive compared with every negative.

    Formally ``c[p, q] = s_p - s_q`` for positives ``p`` (rows) and negatives ``q`` (columns): ``P x N``
    binaries. Row ``p`` counts the negatives ranked above positive ``p``; the metric is
    :func:`average_precision` of those counts. The ``(P, N)`` layout depends on the labels, so building it
    takes one device sync on CUDA. ``layout="static"`` instead lays out all ``N x N`` pairs with a mask of the
    positive-negative ones: no device sync and a fixed shape (for CUDA graphs), at ``N^2`` memory and work
    (about ``1 / (p (1 - p))`` times more with a fraction ``p`` of positives). Both give the same loss up to the
    draw of random anchors.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1) of raw logits,
    :class:`~uniloss.anchors.PaperAnchors` (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance
    weighting with power 1.5 (the paper: power 1; the measurements behind it are in ``docs/ablation.md``), as
    :meth:`default_parts` returns them. ``uniloss.presets.paper(metric)`` gives the paper's recipe. For small
    batches, ``UniLoss(AveragePrecision(), memory=512)`` ranks each batch with the last 512 examples (measured
    in ``docs/ablation.md``).

    Args:
        mode: ``"step"`` (scikit-learn's AP, the default) or ``"interpolated"`` (the paper code's AP).
        layout: ``"compact"`` (default, ``P x N``) or ``"static"`` (``N x N`` masked, sync-free).

    Raises:
        ValueError: for an unknown ``mode`` or ``layout``.

    Example:
        >>> import uniloss
        >>> metric = AveragePrecision()
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 0])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.8333])
    """

    name = "average_precision"
    higher_is_better = True

    def __init__(self, mode: Mode = "step", layout: Layout = "compact") -> None:
        self.mode = _check_mode(mode)
        if layout not in _LAYOUTS:
            raise ValueError(f"`layout` must be one of {_LAYOUTS}, but got {layout!r}.")
        self.layout = layout

    def default_parts(self) -> DefaultParts:
        """The paper's parts with inverse-distance weighting of power 1.5 (``docs/ablation.md``)."""
        return DefaultParts(interpolator=InverseDistanceWeighting(power=1.5))

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N,)`` float and ``targets (N,)`` in ``{0, 1}``."""
        check_arity(self, targets, ("targets",))
        check_ranking_inputs(scores, targets[0], None, graded=False)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(P, N)`` differences ``s_p - s_q`` (``layout="compact"``), or ``(N, N)`` masked (``"static"``)."""
        positive = targets[0].bool()
        if self.layout == "static":
            mask = positive.unsqueeze(1) & ~positive.unsqueeze(0)
            return Comparisons(scores.unsqueeze(1) - scores.unsqueeze(0), mask=mask, context=positive)
        return Comparisons(scores[positive].unsqueeze(1) - scores[~positive])

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """AP from the ``(K, R)`` numbers of negatives ranked above each positive row."""
        return _precision_at_positives(wrong, self.mode, comparisons.context)
