"""Recall at a decision threshold: every score compared with the threshold."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.confusion import Average, Counts, ThresholdMetric, ratio

__all__ = ["Recall", "recall"]


def recall(
    scores: torch.Tensor,
    targets: torch.Tensor,
    threshold: float = 0.0,
    average: Average = "macro",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact recall (sensitivity) of a batch at a decision threshold on the logits, not differentiable.

    Formally ``TP / (TP + FN)``, an example being predicted positive when its score exceeds ``threshold``. A
    positive scored exactly at the threshold is a false negative under either ``ties`` rule (as torchmetrics'
    ``preds > threshold``).
    No positive gives 0 (scikit-learn's ``zero_division=0``). Multi-label input is averaged over every label
    (``"macro"``) or pooled first (``"micro"``).

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
        >>> recall(torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0]))
        tensor(0.6667)
    """
    return Recall(threshold, average=average).exact(scores, targets, validate_args, ties=ties)


@register
class Recall(ThresholdMetric):
    """Recall as a UniLoss refactoring: every score against the decision threshold.

    Formally one binary per positive ``(example, label)``, ``c = s - t`` (negatives cannot change recall, so
    they have none): a right binary is a true positive and a wrong one a false negative, and the metric is
    :func:`recall` of those counts. Binaries sit in rows of positives of one label (at most 1024 each), so
    anchors cost O(rows) (see :class:`~uniloss.metrics.FBeta`).

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
        >>> metric = Recall()
        >>> scores, targets = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.6667])
    """

    name = "recall"
    higher_is_better = True
    positives_only = True

    def statistic(self, counts: Counts) -> torch.Tensor:
        """Recall per column, ``TP / (TP + FN)``."""
        return ratio(counts.tp, counts.tp + counts.fn)
