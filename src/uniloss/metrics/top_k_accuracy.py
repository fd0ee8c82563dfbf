"""Top-k accuracy: the true class's score compared with every other class."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_arity, check_at_most, check_positive_int
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import register
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.accuracy import _check_inputs, tie_averaged_hits
from uniloss.metrics.base import MetricRefactoring

__all__ = ["TopKAccuracy", "top_k_accuracy"]


def _fraction_below(above: torch.Tensor, top_k: int) -> torch.Tensor:
    """``(K,)`` fraction of examples with fewer than ``top_k`` other classes at or above the true one."""
    return (above < top_k).to(torch.get_default_dtype()).mean(-1)


def top_k_accuracy(
    scores: torch.Tensor,
    targets: torch.Tensor,
    top_k: int = 1,
    validate_args: bool = True,
    *,
    ties: Ties = "standard",
) -> torch.Tensor:
    """Exact top-k accuracy of a batch, computed from the scores (not differentiable).

    Formally ``mean_n [the true class is among the k highest scores]``. With ``ties="standard"`` (default) a
    class tied with the true one is ordered with it at random and the expected hit counts (the tie averaging of
    scikit-learn's ``ndcg_score``); with ``ties="pessimistic"`` (the refactoring's value) a class tied with the
    true one counts as above it: ``mean_n [#{j != y_n : s[n, j] >= s[n, y_n]} < k]``. scikit-learn's
    ``top_k_accuracy_score`` ranks the tied class of higher index first, torchmetrics' ``multiclass_accuracy``
    takes ``torch.topk``'s order: on ties each depends on the order of the classes, and the standard value is
    their mean over those orders. All agree on scores without ties. ``top_k >= C`` gives 1.

    Args:
        scores: ``(N, C)`` float scores (logits).
        targets: ``(N,)`` int class indices in ``[0, C)``.
        top_k: how many of the highest-scoring classes count (default 1: accuracy).
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: ties ordered at random) or ``"pessimistic"`` (a tie is wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores``, non-integer ``targets`` or a non-int ``top_k``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, targets out of range, ``top_k < 1``
            or an unknown ``ties``.

    Example:
        >>> top_k_accuracy(torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]]), torch.tensor([1, 0]), top_k=2)
        tensor(0.5000)
        >>> top_k_accuracy(torch.zeros(1, 3), torch.tensor([0]), top_k=2)  # two of three tied positions
        tensor(0.6667)
    """
    top_k = check_positive_int("top_k", top_k)
    ties = check_ties(ties)
    if validate_args:
        _check_inputs(scores, targets, None)
    if ties == "standard":
        value = tie_averaged_hits(scores, targets, top_k).mean()
    else:
        true = scores.detach().gather(1, targets.long().unsqueeze(1))
        above = (scores.detach() >= true).sum(1) - 1  # the true class itself is not above
        value = _fraction_below(above.unsqueeze(0), top_k)[0]
    return value if validate_args else nan_if_any_nan(value, scores)


@register
class TopKAccuracy(MetricRefactoring):
    """Top-k accuracy as a UniLoss refactoring: per example, the true class against every other class.

    Formally ``c[n, j] = s[n, y_n] - s[n, o_j(n)]`` for the ``C - 1`` other classes ``o(n)``, the layout of
    :class:`~uniloss.metrics.Accuracy`: ``N x (C - 1)`` binaries. Example ``n`` is right iff its row has fewer
    than ``k`` wrong binaries. The layout has a static shape: no device sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 1.

    Args:
        num_classes: number of classes ``C``.
        top_k: how many of the highest-scoring classes count (default 1), at most ``C``.

    Raises:
        TypeError: if ``num_classes`` or ``top_k`` is not an int.
        ValueError: if one is smaller than 1, or ``top_k`` larger than ``num_classes``.

    Example:
        >>> import uniloss
        >>> metric = TopKAccuracy(num_classes=3, top_k=2)
        >>> c = metric.comparisons(torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]]), torch.tensor([1, 0]))
        >>> metric.evaluate(uniloss.HardStep()(c.values)[None], c)
        tensor([0.5000])
    """

    name = "top_k_accuracy"
    higher_is_better = True

    def __init__(self, num_classes: int, top_k: int = 1) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.top_k = check_at_most("top_k", check_positive_int("top_k", top_k), "num_classes", self.num_classes)

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N, C)`` float and ``targets (N,)`` int in ``[0, C)``."""
        check_arity(self, targets, ("targets",))
        _check_inputs(scores, targets[0], self.num_classes)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(N, C - 1)`` differences of the true class's score and every other class's score."""
        target = targets[0].long().unsqueeze(1)
        columns = torch.arange(scores.shape[1] - 1, device=scores.device).expand(scores.shape[0], -1)
        return Comparisons(scores.gather(1, target) - scores.gather(1, columns + (columns >= target).long()))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Fraction of rows (examples) with fewer than ``top_k`` wrong binaries."""
        return _fraction_below(wrong, self.top_k)
