"""Intersection over union (Jaccard index) of segmentation masks: per-pixel binaries."""

from __future__ import annotations

import torch

from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.confusion import Counts, ratio
from uniloss.metrics.segmentation import MaskMetric

__all__ = ["IoU", "iou"]


def iou(
    scores: torch.Tensor,
    targets: torch.Tensor,
    threshold: float = 0.0,
    ignore_index: int | None = None,
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact IoU of a batch of segmentation masks, computed from the scores (not differentiable).

    Formally ``IoU = TP / (TP + FP + FN)`` over every pixel of the batch. Binary masks (scores ``(N, H, W)``)
    predict a pixel positive when its score exceeds ``threshold``; a score exactly at the threshold is predicted
    negative. Multi-class masks (scores ``(N, C, H, W)``) predict the argmax class, and the IoU is the
    mean over classes present in the targets or the prediction (scikit-learn's ``jaccard_score`` with
    ``average="macro"``); a tied top score goes to the class of lowest index (``ties="standard"``,
    ``torch.argmax`` and torchmetrics); with ``ties="pessimistic"`` (the refactoring's value) a score at the
    threshold is wrong for either label, and a pixel whose top score is tied counts as wrong for its true class
    and as a false positive of every tied class. Pixels whose target is ``ignore_index`` are left out. A batch
    with nothing positive in targets or prediction has IoU 0 (scikit-learn's ``zero_division=0``). An
    ``ignore_index`` equal to a class ``c`` of ``[0, C)`` leaves out the pixels labelled ``c`` but not the
    class: a prediction of ``c`` elsewhere is a false positive, and its IoU (then 0) enters the mean when ``c``
    is predicted, as scikit-learn's ``jaccard_score`` on the kept pixels gives; torchmetrics'
    ``multiclass_jaccard_index`` leaves class ``c`` out of the mean instead.

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
        >>> iou(scores, torch.tensor([[[1, 1], [0, 0]]]))
        tensor(0.3333)
    """
    return IoU(threshold=threshold, ignore_index=ignore_index).exact(scores, targets, validate_args, ties=ties)


@register
class IoU(MaskMetric):
    """IoU (Jaccard index) of segmentation masks as a UniLoss refactoring: one binary per pixel (and class).

    Formally, binary masks: ``c = s - t`` for a positive pixel, ``t - s`` for a negative one. Multi-class
    masks: per pixel and class ``c``, ``m = s_c - max_{j != c} s_j`` (the strongest other class, chosen on
    detached scores), ``+m`` for the true class and ``-m`` for the others, so the current configuration's
    counts are those of the argmax prediction. A wrong binary is a false negative (true class) or a false
    positive; the metric is :func:`iou` of the counts. Binaries sit in rows of one class and target (at most
    1024 each), so a row's wrong count adds to ``FN`` or ``FP``: anchors cost O(rows). One device sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1: the paper's, kept after
    the segmentation ablation (``docs/segmentation_ablation.md``: temperature, power and row anchors did no better).

    Args:
        num_classes: ``None`` (default) for binary masks ``(N, H, W)``, ``C >= 2`` for ``(N, C, H, W)`` logits.
        threshold: decision threshold of binary masks (default 0); unused for multi-class masks.
        ignore_index: a target value whose pixels are left out (default: none).

    Raises:
        TypeError: if an option has the wrong type.
        ValueError: if ``num_classes < 2`` or ``threshold`` is not finite.

    Example:
        >>> import uniloss
        >>> metric = IoU(num_classes=3, ignore_index=255)
        >>> scores = torch.tensor([[[[2.0, 0.0]], [[1.0, 0.0]], [[0.0, 3.0]]]])  # (1, 3, 1, 2)
        >>> c = metric.comparisons(scores, torch.tensor([[[0, 255]]]))  # one pixel ignored
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([1.])
    """

    name = "iou"
    higher_is_better = True

    def statistic(self, counts: Counts) -> torch.Tensor:
        """IoU per class, ``TP / (TP + FP + FN)``."""
        return ratio(counts.tp, counts.tp + counts.fp + counts.fn)
