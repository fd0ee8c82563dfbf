"""Balanced accuracy at a decision threshold: every score compared with the threshold."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.confusion import Average, Counts, ThresholdMetric, ratio

__all__ = ["BalancedAccuracy", "balanced_accuracy"]


def balanced_accuracy(
    scores: torch.Tensor,
    targets: torch.Tensor,
    threshold: float = 0.0,
    average: Average = "macro",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact balanced accuracy of a batch at a decision threshold on the logits, not differentiable.

    Formally ``(TP / (TP + FN) + TN / (TN + FP)) / 2``, an example being predicted positive when its score
    exceeds ``threshold``. As in scikit-learn's ``balanced_accuracy_score``, a class absent from the targets
    is left out of the mean: without positives the value is ``TN / (TN + FP)``, without negatives it is the
    recall. A score exactly at the threshold is predicted negative (``ties="standard"``, torchmetrics'
    ``preds > threshold``); with ``ties="pessimistic"`` (the refactoring's value) it is wrong for either label.
    Multi-label input (which scikit-learn does not take) is averaged over labels (``"macro"``) or pooled first
    (``"micro"``).

    Args:
        scores: ``(N,)`` (binary) or ``(N, L)`` (multi-label) float logits.
        targets: bool or int in ``{0, 1}``, the shape of ``scores``.
        threshold: decision threshold on the scores (default 0).
        average: ``"macro"`` (default) or ``"micro"``; no effect on binary input.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: a score at the threshold is predicted negative) or ``"pessimistic"``
            (it is wrong for either label).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores``, float ``targets`` or a non-number threshold.
        ValueError: for mismatched shapes or devices, non-finite ``scores``,
            targets outside ``{0, 1}`` or an invalid option.

    Example:
        >>> balanced_accuracy(torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0]))
        tensor(0.5000)
    """
    return BalancedAccuracy(threshold, average=average).exact(scores, targets, validate_args, ties=ties)


@register
class BalancedAccuracy(ThresholdMetric):
    """Balanced accuracy as a UniLoss refactoring: every score against the decision threshold.

    Formally one binary per ``(example, label)``, ``c = s - t`` for a positive and ``c = t - s`` for a
    negative; binaries of positives give ``TP`` and ``FN``, those of negatives ``TN`` and ``FP``, and the
    metric is :func:`balanced_accuracy` of those counts. Binaries sit in rows of positives or of negatives of
    one label, so anchors cost O(rows) (see :class:`~uniloss.metrics.FBeta`).

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        threshold: decision threshold on the logits (default 0).
        num_labels: ``None`` (default) for binary ``(N,)`` scores, ``L`` for multi-label ``(N, L)`` scores.
        average: ``"macro"`` (default) or ``"micro"`` over labels.

    Raises:
        TypeError: if an option has the wrong type.
        ValueError: if ``threshold`` is not finite, ``num_labels < 1`` or ``average`` unknown.

    Example:
        >>> import uniloss
        >>> metric = BalancedAccuracy()
        >>> scores, targets = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.5000])
    """

    name = "balanced_accuracy"
    higher_is_better = True

    def statistic(self, counts: Counts) -> torch.Tensor:
        """Mean of the recalls of the classes present (positives, negatives) per column."""
        positives, negatives = counts.tp + counts.fn, counts.tn + counts.fp
        present = (positives > 0).double() + (negatives > 0).double()
        return ratio(ratio(counts.tp, positives) + ratio(counts.tn, negatives), present)
