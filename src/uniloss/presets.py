"""Named recipes of the UniLoss parts, for reproducing published results next to the library's defaults.

``uniloss.UniLoss(metric)`` uses the defaults measured in ``docs/ablation.md`` (raw logits and the metric's
``default_parts()``). :func:`paper` rebuilds the recipe of the published code instead, to reproduce its numbers.
"""

from __future__ import annotations

import torch

from uniloss.anchors import PaperAnchors
from uniloss.engine.loss import UniLoss
from uniloss.metrics.accuracy import Accuracy
from uniloss.metrics.ap import AveragePrecision
from uniloss.metrics.base import MetricRefactoring

__all__ = ["PaperUniLoss", "paper"]


class PaperUniLoss(UniLoss):
    """UniLoss as the published code ran it: optionally on ``sigmoid(scores)``, temperature 1, power 1.

    Formally ``loss(scores, *targets) = UniLoss(metric, temperature=1, power=1, anchors=PaperAnchors(1, 16, 16,
    16))(sigmoid(scores) if sigmoid_scores else scores, *targets)``. Build it with :func:`paper`.

    Args:
        metric: the refactored metric.
        sigmoid_scores: compare ``sigmoid(scores)`` instead of the scores (the published AP and CIFAR code).
        generator: random source of the anchors.
        validate_args: check inputs on every call.
    """

    def __init__(
        self,
        metric: MetricRefactoring,
        *,
        sigmoid_scores: bool,
        generator: torch.Generator | None = None,
        validate_args: bool = True,
    ) -> None:
        super().__init__(
            metric,
            temperature=1.0,
            power=1.0,
            anchors=PaperAnchors(ground_truth=1, good=16, nearby=16, bad=16, current=0),
            generator=generator,
            validate_args=validate_args,
        )
        self.sigmoid_scores = bool(sigmoid_scores)

    def forward(self, scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        """Return the loss of one batch, on ``sigmoid(scores)`` when ``sigmoid_scores``."""
        if self.sigmoid_scores and isinstance(scores, torch.Tensor):
            scores = torch.sigmoid(scores)
        return super().forward(scores, *targets)

    def extra_repr(self) -> str:
        """The parts, shown by ``repr(module)``."""
        return f"{super().extra_repr()}, sigmoid_scores={self.sigmoid_scores}"


def paper(
    metric: MetricRefactoring,
    *,
    sigmoid_scores: bool | None = None,
    generator: torch.Generator | None = None,
    validate_args: bool = True,
) -> PaperUniLoss:
    """The published recipe of UniLoss (Liu, Wang and Deng, ECCV 2020, and its code) for ``metric``.

    Sigmoid relaxation with temperature 1, inverse-distance weighting with power 1, and 49 anchors redrawn at
    every step (1 ground truth, 16 good, 16 nearby, 16 bad). The published code compares ``sigmoid`` outputs
    for AP (``binary_classficiation``) and for classification (its ResNet-20 ends in a sigmoid); the pose code
    compares raw heatmaps. It also adds precomputed many-flip anchors for PCKh, which this preset leaves out. Its
    hand-written gradient had a sign error; this preset uses the correct (autograd) gradient.

    ``docs/ablation.md`` compares this recipe with the defaults of ``UniLoss(metric)``.

    Args:
        metric: the refactored metric.
        sigmoid_scores: compare ``sigmoid(scores)``; ``None`` for the published choice: ``True`` for
            :class:`~uniloss.metrics.AveragePrecision` and :class:`~uniloss.metrics.Accuracy`, ``False`` otherwise.
        generator: random source of the anchors; a seeded one repeats exactly.
        validate_args: check inputs on every call (device syncs); ``False`` for hot loops.

    Returns:
        A :class:`PaperUniLoss` module.

    Raises:
        TypeError: if ``metric`` is not a :class:`~uniloss.metrics.MetricRefactoring`.

    Example:
        >>> import uniloss
        >>> criterion = uniloss.presets.paper(uniloss.metrics.AveragePrecision())
        >>> criterion.sigmoid_scores, criterion.relax, criterion.interpolator
        (True, Sigmoid(temperature=1.0), InverseDistanceWeighting(power=1.0))
    """
    if not isinstance(metric, MetricRefactoring):
        raise TypeError(f"`metric` must be a uniloss MetricRefactoring, but got {type(metric).__name__}.")
    if sigmoid_scores is None:
        sigmoid_scores = isinstance(metric, (AveragePrecision, Accuracy))
    return PaperUniLoss(metric, sigmoid_scores=sigmoid_scores, generator=generator, validate_args=validate_args)
