"""Dice coefficient (F1) of segmentation masks: per-pixel binaries."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.confusion import Counts, ratio
from uniloss.metrics.segmentation import MaskMetric

__all__ = ["Dice", "dice"]


def dice(
    scores: torch.Tensor,
    targets: torch.Tensor,
    threshold: float = 0.0,
    ignore_index: int | None = None,
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact Dice coefficient of a batch of segmentation masks, computed from the scores (not differentiable).

    Formally ``Dice = 2 TP / (2 TP + FP + FN)`` over every pixel of the batch (F1 of the pixels, and
    ``2 IoU / (1 + IoU)``). Binary masks (scores ``(N, H, W)``) predict a pixel positive when its score exceeds
    ``threshold``; a score exactly at the threshold is predicted negative. Multi-class masks (scores
    ``(N, C, H, W)``) predict the argmax class, and the Dice is the mean over classes present in the targets
    or the prediction (scikit-learn's ``f1_score`` with ``average="macro"``); a tied top score goes to the
    class of lowest index (``ties="standard"``, ``torch.argmax`` and torchmetrics); with ``ties="pessimistic"``
    (the refactoring's value) a score at the threshold is wrong for either label, and a pixel whose top score is
    tied counts as wrong for its true class and as a false positive of every tied class. Pixels whose target is
    ``ignore_index`` are left out. A batch with nothing positive in targets or prediction has Dice 0
    (scikit-learn's ``zero_division=0``). An ``ignore_index`` equal to a class ``c`` of ``[0, C)`` leaves out the
    pixels labelled ``c`` but not the class: predicting ``c`` elsewhere is a false positive and its Dice (then 0)
    enters the mean, as scikit-learn's ``f1_score`` on the kept pixels gives (see :func:`~uniloss.metrics.iou.iou`).

    Args:
        scores: ``(N, H, W)`` (binary) or ``(N, C, H, W)`` (multi-class) float logits.
        targets: ``(N, H, W)``: ``{0, 1}`` (binary, bool or int) or class indices in ``[0, C)``.
        threshold: decision threshold of binary masks (default 0); unused for multi-class masks.
        ignore_index: a target value whose pixels are left out (default: none).
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: a score at the threshold is predicted negative, a tied argmax goes to the
            class of lowest index) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, wrong dtypes or an invalid option type.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, targets out of range or an invalid option.

    Example:
        >>> scores = torch.tensor([[[2.0, -1.0], [0.5, -3.0]]])
        >>> dice(scores, torch.tensor([[[1, 1], [0, 0]]]))
        tensor(0.5000)
    """
    return Dice(threshold=threshold, ignore_index=ignore_index).exact(scores, targets, validate_args, ties=ties)


@register
class Dice(MaskMetric):
    """Dice coefficient as a UniLoss refactoring: the per-pixel binaries of :class:`~uniloss.metrics.IoU`.

    Formally one binary per pixel (binary masks, ``c = s - t`` or ``t - s``) or per pixel and class (multi-class
    masks, the class's margin over the strongest other class, oriented by the target); a wrong binary is a false
    negative (true class) or a false positive, and the metric is :func:`dice` of the counts (``2 IoU / (1 + IoU)``
    per class, never below IoU). Rows of one class and target make anchors cost O(rows). One device sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        num_classes: ``None`` (default) for binary masks ``(N, H, W)``, ``C >= 2`` for ``(N, C, H, W)`` logits.
        threshold: decision threshold of binary masks (default 0); unused for multi-class masks.
        ignore_index: a target value whose pixels are left out (default: none).

    Raises:
        TypeError: if an option has the wrong type.
        ValueError: if ``num_classes < 2`` or ``threshold`` is not finite.

    Example:
        >>> import uniloss
        >>> metric = Dice()  # binary masks
        >>> scores = torch.tensor([[[2.0, -1.0], [0.5, -3.0]]])  # (1, 2, 2): TP, FN / FP, TN
        >>> c = metric.comparisons(scores, torch.tensor([[[1, 1], [0, 0]]]))
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.5000])
    """

    name = "dice"
    higher_is_better = True

    def statistic(self, counts: Counts) -> torch.Tensor:
        """Dice per class, ``2 TP / (2 TP + FP + FN)``."""
        return ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn)
