"""Shared by the segmentation metrics (IoU, Dice): per-pixel binaries grouped by class and target.

Binary masks: each pixel's score against the threshold, as in :mod:`uniloss.metrics.confusion`.
Multi-class masks: one binary per ``(pixel, class c)``, ``c`` against the strongest other class at that
pixel, ``m = s_c - max_{j != c} s_j``, oriented ``+m`` where ``c`` is the true class and ``-m`` elsewhere.
A right binary of the true class is a true positive (``c`` is the argmax), a wrong one a false negative; a
wrong binary of another class is a false positive (``c`` is the argmax, or tied for it, where it should not
be). At the current configuration these are the argmax prediction's counts, so the metric is the usual
multi-class IoU or Dice; the strongest other class is chosen on detached scores (as
:class:`~uniloss.metrics.Accuracy` chooses its candidates), so each binary compares two scores.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

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
from uniloss.metrics.confusion import (
    Counts,
    check_threshold,
    counts_from_wrong,
    grouped_comparisons,
    ratio,
    threshold_comparisons,
    threshold_counts,
)


def check_num_classes(num_classes: object) -> int | None:
    """Return ``num_classes`` if it is None or an int ``>= 2``, else raise."""
    if num_classes is None:
        return None
    if check_positive_int("num_classes", num_classes) < 2:
        raise ValueError(f"`num_classes` must be at least 2 (None for binary masks), but got {num_classes}.")
    return num_classes  # type: ignore[return-value]


def check_ignore_index(ignore_index: object) -> int | None:
    """Return ``ignore_index`` if it is None or an int, else raise ``TypeError``."""
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise TypeError(
            f"`ignore_index` must be an int or None, but got {type(ignore_index).__name__} {ignore_index!r}."
        )
    return ignore_index


def check_mask_inputs(
    scores: object, targets: object, num_classes: int | None, infer: bool, ignore_index: int | None
) -> None:
    """Validate ``scores (N, H, W)`` (binary) or ``(N, C, H, W)`` and ``targets (N, H, W)``.

    With ``infer`` the shape of ``scores`` decides; otherwise ``num_classes`` does (``None``: binary).
    """
    scores = check_tensor("scores", scores)
    targets = check_tensor("targets", targets)
    if infer and scores.ndim not in (3, 4):
        raise ValueError(f"`scores` must have shape (N, H, W) or (N, C, H, W), but got {tuple(scores.shape)}.")
    multiclass = scores.ndim == 4 if infer else num_classes is not None
    sizes: dict[str, int] = {} if num_classes is None else {"C": num_classes}
    check_shape("scores", scores, ("N", "C", "H", "W") if multiclass else ("N", "H", "W"), sizes)
    check_shape("targets", targets, ("N", "H", "W"), sizes)
    if multiclass and sizes["C"] < 2:
        raise ValueError(f"`scores` must have shape (N, C, H, W) with C >= 2, but got {tuple(scores.shape)}.")
    check_floating("scores", scores)
    check_same_device("scores", scores, targets=targets)
    check_nonempty("scores", scores)
    kept = targets if ignore_index is None else targets[targets != ignore_index]
    check_finite_and_range(scores, kept, 0, sizes["C"] - 1 if multiclass else 1, allow_bool=not multiclass)


def _pixels(scores: torch.Tensor, targets: torch.Tensor, ignore_index: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores ``(P,)`` or ``(P, C)`` and targets ``(P,)`` of the pixels whose target is not ``ignore_index``."""
    flat = scores.flatten() if scores.ndim == 3 else scores.movedim(1, -1).reshape(-1, scores.shape[1])
    target = targets.flatten()
    if ignore_index is None:
        return flat, target
    kept = target != ignore_index
    return flat[kept], target[kept]


def mask_comparisons(
    scores: torch.Tensor, targets: torch.Tensor, threshold: float, ignore_index: int | None
) -> Comparisons:
    """The binaries of the module docstring, grouped by class and target."""
    pixels, target = _pixels(scores, targets, ignore_index)
    if pixels.ndim == 1:
        return threshold_comparisons(pixels, target, threshold)
    num_classes = pixels.shape[1]
    best = pixels.detach().topk(2, dim=1).indices
    classes = torch.arange(num_classes, device=pixels.device)
    strongest_other = torch.where(classes == best[:, :1], best[:, 1:], best[:, :1])
    margin = pixels - pixels.gather(1, strongest_other)
    positive = classes == target.long().unsqueeze(1)
    values = torch.where(positive, margin, -margin)
    return grouped_comparisons(values, positive)


def mask_counts(
    scores: torch.Tensor, targets: torch.Tensor, threshold: float, ignore_index: int | None, ties: Ties
) -> Counts:
    """``(1, C)`` counts straight from scores: thresholded (binary) or of the argmax.

    A tie for the argmax goes to the class of lowest index (``ties="standard"``, ``torch.argmax`` and
    torchmetrics) or is wrong for the true class and a false positive of every tied class (``"pessimistic"``).
    """
    pixels, target = _pixels(scores.detach(), targets, ignore_index)
    if pixels.ndim == 1:
        return threshold_counts(pixels, target, threshold, ties)
    classes = torch.arange(pixels.shape[1], device=pixels.device)
    if ties == "standard":
        is_max = alone = classes == pixels.argmax(1, keepdim=True)
    else:
        is_max = pixels == pixels.amax(1, keepdim=True)
        alone = is_max & (is_max.sum(1, keepdim=True) == 1)
    positive = classes == target.long().unsqueeze(1)
    tp = (positive & alone).sum(0, keepdim=True)
    fp = (~positive & is_max).sum(0, keepdim=True)
    fn = positive.sum(0, keepdim=True) - tp
    return Counts(tp, fp, fn, (~positive).sum(0, keepdim=True) - fp)


def mean_over_present(statistic: Callable[[Counts], torch.Tensor], counts: Counts) -> torch.Tensor:
    """``(K,)`` mean of the per-class statistic over classes with ``TP + FP + FN > 0``; 0 if there is none."""
    present = (counts.tp + counts.fp + counts.fn) > 0
    total = torch.where(present, statistic(counts), 0.0).sum(-1)
    return ratio(total, present.sum(-1)).to(torch.get_default_dtype())


class MaskMetric(MetricRefactoring):
    """Base of the segmentation metrics; a subclass sets ``name`` and implements :meth:`statistic`.

    Binaries as in this module's docstring, laid out in rows of one class and target (at most 1024 each), so a
    row's wrong count adds to ``FN`` (true class) or ``FP``: anchors cost O(rows). One device sync.
    """

    def __init__(self, num_classes: int | None = None, threshold: float = 0.0, ignore_index: int | None = None) -> None:
        self.num_classes = check_num_classes(num_classes)
        self.threshold = check_threshold(threshold)
        self.ignore_index = check_ignore_index(ignore_index)

    @abstractmethod
    def statistic(self, counts: Counts) -> torch.Tensor:
        """``(K, C)`` float64 metric per class of ``(K, C)`` counts."""

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N, H, W)`` or ``(N, C, H, W)`` with ``C = num_classes`` and ``targets (N, H, W)``."""
        check_arity(self, targets, ("targets",))
        check_mask_inputs(scores, targets[0], self.num_classes, False, self.ignore_index)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """Per-pixel binaries (see :mod:`uniloss.metrics.segmentation`), grouped by class and target."""
        return mask_comparisons(scores, targets[0], self.threshold, self.ignore_index)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Mean of the statistic over classes present in the targets or the prediction."""
        return mean_over_present(self.statistic, counts_from_wrong(wrong, comparisons))

    def exact(
        self, scores: torch.Tensor, targets: torch.Tensor, validate_args: bool = True, *, ties: Ties
    ) -> torch.Tensor:
        """The metric of binary or multi-class masks from a threshold or argmax (the functional forms' path).

        ``ties`` as :func:`mask_counts`. Checked, non-finite scores are refused; unchecked, a NaN in ``scores``
        (ignored pixels too) gives NaN.
        """
        ties = check_ties(ties)
        if validate_args:
            check_mask_inputs(scores, targets, None, True, self.ignore_index)
        counts = mask_counts(scores, targets, self.threshold, self.ignore_index, ties)
        value = mean_over_present(self.statistic, counts)[0]
        return value if validate_args else nan_if_any_nan(value, scores)
