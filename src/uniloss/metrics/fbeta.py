"""F-beta (and F1) at a decision threshold: every score compared with the threshold."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_positive
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties
from uniloss.metrics.confusion import Average, Counts, ThresholdMetric, ratio

__all__ = ["F1", "FBeta", "f1", "fbeta"]


def fbeta(
    scores: torch.Tensor,
    targets: torch.Tensor,
    beta: float = 1.0,
    threshold: float = 0.0,
    average: Average = "macro",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact F-beta score of a batch at a decision threshold on the logits, not differentiable.

    Formally ``F = (1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP)``, an example being predicted
    positive when its score exceeds ``threshold``. A score exactly at the threshold is predicted negative
    (``ties="standard"``, torchmetrics' ``preds > threshold``); with ``ties="pessimistic"`` (the refactoring's
    value) it counts as wrong for either label. A zero denominator
    gives 0 (scikit-learn's ``zero_division=0``). Multi-label input is averaged over labels (``"macro"``:
    every label counts, as in scikit-learn) or pooled first (``"micro"``).

    Args:
        scores: ``(N,)`` (binary) or ``(N, L)`` (multi-label) float logits.
        targets: bool or int in ``{0, 1}``, the shape of ``scores``.
        beta: positive weight of recall (``beta = 1``: F1).
        threshold: decision threshold on the scores (default 0: logit 0, probability 0.5).
        average: ``"macro"`` (default) or ``"micro"``; no effect on binary input.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: a score at the threshold is predicted negative) or ``"pessimistic"``
            (it is wrong for either label).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores``, float ``targets`` or a non-number option.
        ValueError: for mismatched shapes or devices, non-finite ``scores``,
            targets outside ``{0, 1}`` or an invalid option.

    Example:
        >>> fbeta(torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0]), beta=2.0)
        tensor(0.6250)
    """
    return FBeta(beta, threshold, average=average).exact(scores, targets, validate_args, ties=ties)


def f1(
    scores: torch.Tensor,
    targets: torch.Tensor,
    threshold: float = 0.0,
    average: Average = "macro",
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact F1 score, :func:`fbeta` with ``beta = 1``: formally ``F1 = 2 TP / (2 TP + FN + FP)``.

    Args:
        scores: ``(N,)`` or ``(N, L)`` float logits.
        targets: bool or int in ``{0, 1}``, the shape of ``scores``.
        threshold: decision threshold on the scores.
        average: ``"macro"`` (default) or ``"micro"``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: a score at the threshold is predicted negative) or ``"pessimistic"``
            (it is wrong for either label).

    Returns:
        A float scalar tensor.

    Example:
        >>> f1(torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0]))
        tensor(0.5714)
    """
    return fbeta(scores, targets, 1.0, threshold, average, validate_args, ties=ties)


@register
class FBeta(ThresholdMetric):
    """F-beta as a UniLoss refactoring: every score against the decision threshold.

    Formally one binary per ``(example, label)``, ``c = s - t`` for a positive and ``c = t - s`` for a
    negative, so a wrong binary is a false negative or a false positive; the metric is :func:`fbeta` of the
    resulting counts. Binaries sit in rows of positives or of negatives of one label (at most 1024 each), so
    a row's wrong count adds to ``FN`` or ``FP``: anchors cost O(rows). Building the layout takes one sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        beta: positive weight of recall.
        threshold: decision threshold on the logits (default 0).
        num_labels: ``None`` (default) for binary ``(N,)`` scores, ``L`` for multi-label ``(N, L)`` scores.
        average: ``"macro"`` (default) or ``"micro"`` over labels.

    Raises:
        TypeError: if an option has the wrong type.
        ValueError: if ``beta`` is not positive, ``threshold`` not finite, ``num_labels < 1`` or ``average``
            unknown.

    Example:
        >>> import uniloss
        >>> metric = FBeta(beta=2.0)
        >>> scores, targets = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.6250])
    """

    name = "fbeta"
    higher_is_better = True

    def __init__(
        self, beta: float = 1.0, threshold: float = 0.0, num_labels: int | None = None, average: Average = "macro"
    ) -> None:
        self.beta = check_positive("beta", beta)
        super().__init__(threshold, num_labels, average)

    def statistic(self, counts: Counts) -> torch.Tensor:
        """F-beta per column, ``(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)``, ``0`` when the denominator is ``0``."""
        weighted = (1 + self.beta**2) * counts.tp.double()
        return ratio(weighted, weighted + self.beta**2 * counts.fn.double() + counts.fp.double())


@register
class F1(FBeta):
    """F1 as a UniLoss refactoring: :class:`FBeta` with ``beta = 1`` (see there for the refactoring).

    Formally ``F1 = 2 TP / (2 TP + FN + FP)``; see :func:`f1`.

    Args:
        threshold: decision threshold on the logits (default 0).
        num_labels: ``None`` (default) for binary ``(N,)`` scores, ``L`` for multi-label ``(N, L)`` scores.
        average: ``"macro"`` (default) or ``"micro"`` over labels.

    Example:
        >>> F1(num_labels=3, average="micro")
        F1(threshold=0.0, num_labels=3, average='micro')
    """

    name = "f1"

    def __init__(self, threshold: float = 0.0, num_labels: int | None = None, average: Average = "macro") -> None:
        super().__init__(1.0, threshold, num_labels, average)
