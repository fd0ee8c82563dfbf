"""Multi-class accuracy: the true class's score compared with every other (or the strongest) class."""

from __future__ import annotations

import torch

from uniloss.core.checks import (
    check_arity,
    check_at_most,
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
from uniloss.interpolators import InverseDistanceWeighting
from uniloss.metrics._ties import Ties, check_ties
from uniloss.metrics._unchecked import nan_if_any_nan
from uniloss.metrics.base import DefaultParts, MetricRefactoring

__all__ = ["Accuracy", "accuracy"]


def _check_inputs(scores: object, targets: object, num_classes: int | None) -> None:
    scores = check_tensor("scores", scores)
    targets = check_tensor("targets", targets)
    sizes: dict[str, int] = {} if num_classes is None else {"C": num_classes}
    check_shape("scores", scores, ("N", "C"), sizes)
    check_shape("targets", targets, ("N",), sizes)
    check_floating("scores", scores)
    check_same_device("scores", scores, targets=targets)
    check_nonempty("scores", scores)
    check_finite_and_range(scores, targets, 0, sizes["C"] - 1, allow_bool=False)


def tie_averaged_hits(scores: torch.Tensor, targets: torch.Tensor, top_k: int) -> torch.Tensor:
    """``(N,)`` chance that the true class is among the ``top_k`` highest scores when ties are ordered at random.

    With ``g`` classes scored above the true one and ``t`` tied with it, the true class takes one of the
    positions ``g + 1 .. g + t + 1`` with equal chance: ``clamp(k - g, 0, t + 1) / (t + 1)``.
    """
    true = scores.detach().gather(1, targets.long().unsqueeze(1))
    above = (scores.detach() > true).sum(1)
    tied = (scores.detach() == true).sum(1)  # the true class included
    return (top_k - above).clamp(0).minimum(tied).to(torch.get_default_dtype()) / tied


def accuracy(
    scores: torch.Tensor, targets: torch.Tensor, validate_args: bool = True, *, ties: Ties = "standard"
) -> torch.Tensor:
    """Exact multi-class accuracy of a batch, computed from the scores (not differentiable).

    Formally ``mean_n [y_n is the class of highest score]``. With ``ties="standard"`` (default) an example whose
    true class ties with ``t`` others for the top score counts ``1 / (t + 1)``, the expected hit when the tie is
    broken at random; torchmetrics' ``multiclass_accuracy`` and ``argmax`` take the tied class of lowest index,
    so their value depends on the order of the classes and the standard value is its mean over those orders.
    With ``ties="pessimistic"`` (the refactoring's value) such an example counts as wrong:
    ``mean_n [s[n, y_n] > s[n, j] for every j != y_n]``. All agree on scores without ties. With one class every
    example is right.

    Args:
        scores: ``(N, C)`` float scores (logits).
        targets: ``(N,)`` int class indices in ``[0, C)``.
        validate_args: check the inputs, ``scores`` finite included (device syncs). Unchecked, a NaN in
            ``scores`` gives NaN, and ``+inf`` / ``-inf`` act as scores above / below every finite one.
        ties: ``"standard"`` (default: ties broken at random, in expectation) or ``"pessimistic"`` (a tie is
            wrong).

    Returns:
        A float scalar tensor.

    Raises:
        TypeError: for non-tensor input, non-float ``scores`` or non-integer ``targets``.
        ValueError: for mismatched shapes or devices, non-finite ``scores``, targets out of range or an unknown
            ``ties``.

    Example:
        >>> scores, targets = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]]), torch.tensor([0, 1, 0])
        >>> accuracy(scores, targets), accuracy(scores, targets, ties="pessimistic")
        (tensor(0.8333), tensor(0.6667))
    """
    ties = check_ties(ties)
    if validate_args:
        _check_inputs(scores, targets, None)
    if ties == "standard":
        value = tie_averaged_hits(scores, targets, 1).mean()
    else:
        true = scores.detach().gather(1, targets.long().unsqueeze(1))
        right = (scores.detach() >= true).sum(1) == 1  # no class but the true one at or above it
        value = right.to(torch.get_default_dtype()).mean()
    return value if validate_args else nan_if_any_nan(value, scores)


@register
class Accuracy(MetricRefactoring):
    """Accuracy as a UniLoss refactoring: per example, the true class against the other classes.

    Formally ``c[n, j] = s[n, y_n] - s[n, o_j(n)]`` where ``o(n)`` lists the other classes (all ``C - 1``, or
    the ``candidates - 1`` highest-scoring ones): ``N x (C - 1)`` binaries. Example ``n`` is right iff its row
    has no wrong binary. Restricting to the strongest other classes gives the same exact accuracy (the true
    class beats them all iff it beats the strongest) with fewer binaries. The layout has a static shape: no
    device sync.

    Defaults: :class:`~uniloss.relaxations.Sigmoid` (temperature 1), :class:`~uniloss.anchors.PaperAnchors`
    (1 ground truth, 16 good, 16 nearby, 16 bad), inverse-distance weighting with power 2 (the paper: 1; the
    measurements behind it are in ``docs/ablation.md``), as :meth:`default_parts` returns them.

    Args:
        num_classes: number of classes ``C``.
        candidates: if given, compare only each example's top ``candidates`` classes with the true class
            forced in (paper: 21 for CIFAR-100), at most ``C``; ``None`` or ``C`` uses all classes.

    Raises:
        TypeError: if ``num_classes`` or ``candidates`` is not an int.
        ValueError: if ``num_classes`` is smaller than 1, or ``candidates`` smaller than 2 or larger than
            ``num_classes``.

    Example:
        >>> metric = Accuracy(num_classes=3)
        >>> metric.comparisons(torch.tensor([[3.0, 1.0, 2.0]]), torch.tensor([2])).values
        tensor([[-1.,  1.]])
    """

    name = "accuracy"
    higher_is_better = True

    def __init__(self, num_classes: int, candidates: int | None = None) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        if candidates is not None:
            if check_positive_int("candidates", candidates) < 2:
                raise ValueError(
                    f"`candidates` must be at least 2 (the true class and one other), but got {candidates}."
                )
            check_at_most("candidates", candidates, "num_classes", self.num_classes)
        self.candidates = candidates

    def default_parts(self) -> DefaultParts:
        """The paper's parts with inverse-distance weighting of power 2 (``docs/ablation.md``)."""
        return DefaultParts(interpolator=InverseDistanceWeighting(power=2.0))

    checks_finite = True  # check() refuses non-finite scores, so the engine does not test them again

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Validate ``scores (N, C)`` float and ``targets (N,)`` int in ``[0, C)``."""
        check_arity(self, targets, ("targets",))
        _check_inputs(scores, targets[0], self.num_classes)

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """``(N, M)`` differences of the true class's score and the other classes' scores."""
        target = targets[0].long().unsqueeze(1)
        num_classes = scores.shape[1]
        true = scores.gather(1, target)
        if self.candidates is not None and self.candidates < num_classes:
            masked = scores.detach().scatter(1, target, float("-inf"))
            other = masked.topk(self.candidates - 1, dim=1).indices
        else:
            columns = torch.arange(num_classes - 1, device=scores.device).expand(scores.shape[0], -1)
            other = columns + (columns >= target).long()
        return Comparisons(true - scores.gather(1, other))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Fraction of rows (examples) with no wrong binary."""
        if wrong.shape[-1] == 0:
            return torch.zeros(wrong.shape[:-1], dtype=torch.get_default_dtype(), device=wrong.device)
        return (wrong == 0).to(torch.get_default_dtype()).mean(-1)
