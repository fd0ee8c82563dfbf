"""Mean average precision of multi-label scores: per label, every positive compared with every negative."""

from __future__ import annotations

from typing import NamedTuple

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
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.ap import Mode, _check_mode, _precision_at_positives, average_precision
from uniloss.metrics.base import MetricRefactoring

__all__ = ["MeanAveragePrecision", "mean_average_precision"]


class _Blocks(NamedTuple):
    """Context of the layout: labels with the same number of positives ``P`` are evaluated together."""

    present: torch.Tensor
    """``(L,)`` bool: labels with a positive."""
    blocks: list[tuple[torch.Tensor, torch.Tensor]]
    """``(labels (n,), rows (n, P))`` for each distinct ``P > 0``."""


def _check_inputs(scores: object, targets: object, num_labels: int | None) -> None:
    scores = check_tensor("scores", scores)
    targets = check_tensor("targets", targets)
    sizes: dict[str, int] = {} if num_labels is None else {"L": num_labels}
    check_shape("scores", scores, ("N", "L"), sizes)
    check_shape("targets", targets, ("N", "L"), sizes)
    check_floating("scores", scores)
    check_same_device("scores", scores, targets=targets)
    check_nonempty("scores", scores)
    check_finite_and_range(scores, targets, 0, 1)


def _mean_over_present(ap: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """``(K,)`` mean of ``(K, L)`` APs over the labels with a positive; 0 if no label has one."""
    if not bool(present.any()):
        return ap.new_zeros(ap.shape[0])
    return ap[:, present].mean(-1)


def mean_average_precision(
    scores: torch.Tensor,
    targets: torch.Tensor,
    mode: Mode = "step",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact mean average precision of multi-label scores, computed from the scores (not differentiable).

    Formally ``mAP = mean_{l : P_l > 0} AP_l`` with ``AP_l`` the :func:`~uniloss.metrics.ap.average_precision`
    of column ``l`` (same ``mode`` and ``ties``: by default tied scores form one threshold). Labels
    without a positive are left out of the mean, and with no positive at all mAP is 0. scikit-learn's macro
    ``average_precision_score`` and torchmetrics' ``multilabel_average_precision`` count such a label as 0
    instead (on the example below both give 0.4167); the three agree when every label has a positive. A label
    without a negative has AP 1.

    Args:
        scores: ``(N, L)`` float scores.
        targets: ``(N, L)`` bool or int in ``{0, 1}``.
        mode: ``"step"`` (default, scikit-learn's AP) or ``"interpolated"``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: tied scores form one threshold) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores`` or float ``targets``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``,
            targets outside ``{0, 1}``, or an unknown ``mode`` or ``ties``.

    Example:
        >>> scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]])
        >>> mean_average_precision(scores, torch.tensor([[1, 0], [0, 0], [1, 0]]))  # label 1 has no positive
        tensor(0.8333)
    """
    mode = _check_mode(mode)
    ties = check_ties(ties)
    if validate_args:
        _check_inputs(scores, targets, None)
    present = targets.bool().any(0)
    ap = torch.zeros(1, scores.shape[1], dtype=torch.get_default_dtype(), device=scores.device)
    for label in present.nonzero().flatten().tolist():
        ap[0, label] = average_precision(scores[:, label], targets[:, label], mode, validate_args=False, ties=ties)
    value = _mean_over_present(ap, present)[0]
    return value if validate_args else nan_if_any_nan(value, scores)


@register
class MeanAveragePrecision(MetricRefactoring):
    """Mean average precision as a UniLoss refactoring: per label, every positive against every negative.

    Formally one row per ``(label l, positive p)`` holding ``c[p, q] = s[p, l] - s[q, l]`` for every negative
    ``q`` of label ``l`` (rows padded to the label with the most negatives; a mask marks padding). Row counts
    are the negatives ranked above each positive; the AP of each label follows as in
    :class:`~uniloss.metrics.AveragePrecision` (the same counting function, batched over labels with equally
    many positives), and the metric is :func:`mean_average_precision`. Building the layout takes a device sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        num_labels: number of labels ``L``.
        mode: ``"step"`` (default) or ``"interpolated"``, as in :class:`~uniloss.metrics.AveragePrecision`.

    Raises:
        TypeError: if ``num_labels`` is not an int.
        ValueError: if ``num_labels < 1`` or ``mode`` is unknown.

    Example:
        >>> import uniloss
        >>> metric = MeanAveragePrecision(num_labels=2)
        >>> scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]])
        >>> c = metric.comparisons(scores, torch.tensor([[1, 0], [0, 1], [1, 0]]))
        >>> c.shape, metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        ((3, 2), tensor([0.9167]))
    """

    name = "mean_average_precision"
    higher_is_better = True

    def __init__(self, num_labels: int, mode: Mode = "step") -> None:
        self.num_labels = check_positive_int("num_labels", num_labels)
        self.mode = _check_mode(mode)

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N, L)`` float and ``targets (N, L)`` in ``{0, 1}``."""
        check_arity(self, targets, ("targets",))
        _check_inputs(scores, targets[0], self.num_labels)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(sum_l P_l, max_l N_l)``: each positive of a label minus each negative of the same label."""
        positive = targets[0].bool()
        label, item = positive.T.nonzero(as_tuple=True)  # rows label by label
        negative_item = (~positive).T.nonzero(as_tuple=True)[1]
        num_negatives, num_positives = (~positive).sum(0), positive.sum(0)
        first_negative = num_negatives.cumsum(0) - num_negatives
        columns = torch.arange(int(num_negatives.max()), device=scores.device)
        index = (first_negative[label].unsqueeze(1) + columns).clamp_max(max(negative_item.numel() - 1, 0))
        values = scores[item, label].unsqueeze(1) - scores[negative_item[index], label.unsqueeze(1)]
        mask = columns < num_negatives[label].unsqueeze(1)
        first_row = num_positives.cumsum(0) - num_positives
        blocks = []
        for count in num_positives.unique().tolist():
            if count > 0:
                labels = (num_positives == count).nonzero().flatten()
                blocks.append((labels, first_row[labels].unsqueeze(1) + torch.arange(count, device=scores.device)))
        return Comparisons(values, mask, _Blocks(num_positives > 0, blocks))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Mean over labels with a positive of the AP of the negatives ranked above each positive."""
        context: _Blocks = comparisons.context
        ap = torch.zeros(wrong.shape[0], context.present.numel(), dtype=torch.get_default_dtype(), device=wrong.device)
        for labels, rows in context.blocks:
            ap[:, labels] = _precision_at_positives(wrong[:, rows], self.mode)
        return _mean_over_present(ap, context.present)
