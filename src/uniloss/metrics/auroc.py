"""Area under the ROC curve of a binary batch: every positive compared with every negative."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_arity
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.base import MetricRefactoring
from uniloss.metrics.ranking import check_ranking_inputs

__all__ = ["AUROC", "auroc"]


def _fraction_right(right: torch.Tensor, num_pairs: int) -> torch.Tensor:
    """``right / num_pairs`` in the default dtype, 0 when there is no pair."""
    if num_pairs == 0:
        return torch.zeros(right.shape, dtype=torch.get_default_dtype(), device=right.device)
    return (right.double() / num_pairs).to(torch.get_default_dtype())


def auroc(
    scores: torch.Tensor, targets: torch.Tensor, validate_args: bool = True, *, ties: Ties = "standard"
) -> torch.Tensor:
    """Exact area under the ROC curve of a batch, computed from the scores (not differentiable).

    Formally ``AUROC = (#{(p, q) : s_p > s_q} + #{(p, q) : s_p = s_q} / 2) / (P N)`` over positives ``p`` and
    negatives ``q``: the Wilcoxon-Mann-Whitney statistic, a tied pair counting half (``ties="standard"``, as
    scikit-learn's ``roc_auc_score`` and torchmetrics' ``binary_auroc``); with ``ties="pessimistic"`` a tied
    pair counts as wrong, the value of the refactoring (``evaluate`` of the hard step). A batch without a
    positive or without a negative has AUROC 0, as torchmetrics' ``binary_auroc`` gives (with a warning);
    scikit-learn's ``roc_auc_score`` warns and returns NaN.

    Args:
        scores: ``(N,)`` float scores, higher means more likely positive.
        targets: ``(N,)`` bool or int in ``{0, 1}``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: a tied pair counts half) or ``"pessimistic"`` (a tied pair is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores`` or float ``targets``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, targets outside ``{0, 1}`` or an
            unknown ``ties``.

    Example:
        >>> auroc(torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 0]))
        tensor(0.7500)
        >>> constant, targets = torch.zeros(4), torch.tensor([1, 0, 1, 0])
        >>> auroc(constant, targets), auroc(constant, targets, ties="pessimistic")
        (tensor(0.5000), tensor(0.))
    """
    ties = check_ties(ties)
    if validate_args:
        check_ranking_inputs(scores, targets, None, graded=False)
    positive = targets.bool()
    negatives = scores.detach()[~positive].sort().values
    below = torch.searchsorted(negatives, scores.detach()[positive], right=False)  # negatives strictly below
    right = below.sum().double()
    if ties == "standard":  # half of the tied negatives: (strictly below + at or below) / 2
        right = (right + torch.searchsorted(negatives, scores.detach()[positive], right=True).sum()) / 2
    value = _fraction_right(right, below.numel() * negatives.numel())
    return value if validate_args else nan_if_any_nan(value, scores)


@register
class AUROC(MetricRefactoring):
    """AUROC as a UniLoss refactoring: every positive compared with every negative.

    Formally ``c[p, q] = s_p - s_q`` for positives ``p`` (rows) and negatives ``q`` (columns): ``P x N``
    binaries, the layout of :class:`~uniloss.metrics.AveragePrecision`. AUROC is the fraction of right
    binaries, so it follows from the number of wrong binaries per row. The layout depends on the labels, so
    building it takes one device sync on CUDA.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Example:
        >>> import uniloss
        >>> metric = AUROC()
        >>> scores, targets = torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 0])
        >>> c = metric.comparisons(scores, targets)
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.7500])
    """

    name = "auroc"
    higher_is_better = True

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N,)`` float and ``targets (N,)`` in ``{0, 1}``."""
        check_arity(self, targets, ("targets",))
        check_ranking_inputs(scores, targets[0], None, graded=False)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(P, N)`` differences ``s_p - s_q`` of every positive ``p`` and negative ``q``."""
        positive = targets[0].bool()
        return Comparisons(scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Fraction of the ``P x N`` pairs that are right."""
        num_pairs = comparisons.num_binaries
        return _fraction_right(num_pairs - wrong.sum(-1), num_pairs)
