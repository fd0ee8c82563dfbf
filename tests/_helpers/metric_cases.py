"""One small random valid batch per registered metric, keyed by the metric's registry name.

A metric added to ``uniloss.METRICS`` needs an entry in ``FACTORIES``; ``tests/metrics/test_contract.py``
fails for a registered metric without one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import pytest
import torch

import uniloss
from uniloss.metrics import MetricRefactoring
from uniloss.metrics.auroc import auroc
from uniloss.metrics.balanced_accuracy import balanced_accuracy
from uniloss.metrics.dice import dice
from uniloss.metrics.fbeta import f1, fbeta
from uniloss.metrics.iou import iou
from uniloss.metrics.mean_average_precision import mean_average_precision
from uniloss.metrics.ndcg import ndcg
from uniloss.metrics.precision import precision
from uniloss.metrics.precision_at_k import precision_at_k
from uniloss.metrics.recall import recall
from uniloss.metrics.recall_at_k import recall_at_k
from uniloss.metrics.top_k_accuracy import top_k_accuracy


class MetricCase(NamedTuple):
    """A metric instance, a batch for it and its exact metric as a function of the scores."""

    metric: MetricRefactoring
    scores: torch.Tensor
    targets: tuple[torch.Tensor, ...]
    exact: Callable[..., torch.Tensor]
    """``exact(scores, *targets)``: the functional form of the metric with the instance's options and the
    refactoring's tie rule (``ties="pessimistic"``), so it equals ``evaluate`` of the hard step."""


# Random draws are made in float64 and cast, so the batches of all dtypes are roundings of one batch.


def _average_precision(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    targets = (torch.rand(10, generator=generator) < 0.4).long()
    targets[:2] = torch.tensor([1, 0])  # at least one positive and one negative
    scores = torch.randn(10, generator=generator, dtype=torch.float64).to(dtype)
    return MetricCase(
        uniloss.metrics.AveragePrecision(),
        scores,
        (targets,),
        partial(uniloss.exact.average_precision, ties="pessimistic"),
    )


def _accuracy(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    scores = torch.randn(8, 4, generator=generator, dtype=torch.float64).to(dtype)
    targets = torch.randint(0, 4, (8,), generator=generator)
    return MetricCase(
        uniloss.metrics.Accuracy(num_classes=4), scores, (targets,), partial(uniloss.exact.accuracy, ties="pessimistic")
    )


def _pck(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    heatmaps = torch.randn(2, 3, 6, 6, generator=generator, dtype=torch.float64).to(dtype)
    joints = (torch.rand(2, 3, 2, generator=generator, dtype=torch.float64) * 5).to(dtype)
    visible = torch.rand(2, 3, generator=generator) < 0.7
    visible[0, 0] = True
    head_size = (2 + 2 * torch.rand(2, generator=generator, dtype=torch.float64)).to(dtype)
    metric = uniloss.metrics.PCK(threshold=0.5)

    def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        return uniloss.exact.pck(scores, *targets, threshold=metric.threshold, ties="pessimistic")

    return MetricCase(metric, heatmaps, (joints, visible, head_size), exact)


def _auroc(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    case = _average_precision(generator, dtype)
    return case._replace(metric=uniloss.metrics.AUROC(), exact=partial(auroc, ties="pessimistic"))


def _labels(
    generator: torch.Generator, dtype: torch.dtype, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and ``{0, 1}`` targets of ``shape``, each column holding a positive and a negative."""
    targets = (torch.rand(shape, generator=generator) < 0.4).long()
    targets[:2] = torch.tensor([1, 0]).view(2, *([1] * (len(shape) - 1)))
    return torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype), targets


def _threshold_case(metric: MetricRefactoring, functional: Callable[..., torch.Tensor], **options):
    """A multi-label batch of 8 x 3 with a non-zero threshold, for the metrics of a confusion matrix."""

    def factory(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
        scores, targets = _labels(generator, dtype, (8, 3))

        def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
            return functional(scores, *targets, threshold=0.25, average=metric.average, ties="pessimistic", **options)

        return MetricCase(metric, scores, (targets,), exact)

    return factory


def _ranking_case(metric: MetricRefactoring, functional: Callable[..., torch.Tensor], graded: bool, **options):
    """Three queries of 5, 3 and 4 items (ids not contiguous), for the ranking metrics."""

    def factory(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
        groups = torch.tensor([7, 7, 7, 7, 7, 2, 2, 2, 5, 5, 5, 5])
        targets = torch.randint(0, 4 if graded else 2, (12,), generator=generator)
        targets[[0, 5, 8]] = 1  # a relevant item in each query
        scores = torch.randn(12, generator=generator, dtype=torch.float64).to(dtype)

        def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
            return functional(scores, *targets, ties="pessimistic", **options)

        return MetricCase(metric, scores, (targets, groups), exact)

    return factory


def _mean_average_precision(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    scores, targets = _labels(generator, dtype, (10, 4))
    targets[:, 3] = 0  # a label without a positive
    return MetricCase(
        uniloss.metrics.MeanAveragePrecision(num_labels=4),
        scores,
        (targets,),
        partial(mean_average_precision, ties="pessimistic"),
    )


def _top_k_accuracy(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    scores = torch.randn(8, 5, generator=generator, dtype=torch.float64).to(dtype)
    targets = torch.randint(0, 5, (8,), generator=generator)

    def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        return top_k_accuracy(scores, *targets, top_k=2, ties="pessimistic")

    return MetricCase(uniloss.metrics.TopKAccuracy(num_classes=5, top_k=2), scores, (targets,), exact)


def _mask_case(metric_class: type, functional: Callable[..., torch.Tensor]):
    """Multi-class 2 x 3 x 4 x 4 logits with an ignored pixel, for the segmentation metrics."""

    def factory(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
        scores = torch.randn(2, 3, 4, 4, generator=generator, dtype=torch.float64).to(dtype)
        targets = torch.randint(0, 3, (2, 4, 4), generator=generator)
        targets[0, 0, 0] = 255

        def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
            return functional(scores, *targets, ignore_index=255, ties="pessimistic")

        return MetricCase(metric_class(num_classes=3, ignore_index=255), scores, (targets,), exact)

    return factory


FACTORIES: dict[str, Callable[[torch.Generator, torch.dtype], MetricCase]] = {
    "average_precision": _average_precision,
    "accuracy": _accuracy,
    "pck": _pck,
    "auroc": _auroc,
    "fbeta": _threshold_case(uniloss.metrics.FBeta(beta=2.0, threshold=0.25, num_labels=3), fbeta, beta=2.0),
    "f1": _threshold_case(uniloss.metrics.F1(threshold=0.25, num_labels=3, average="micro"), f1),
    "precision": _threshold_case(uniloss.metrics.Precision(threshold=0.25, num_labels=3), precision),
    "recall": _threshold_case(uniloss.metrics.Recall(threshold=0.25, num_labels=3, average="micro"), recall),
    "balanced_accuracy": _threshold_case(
        uniloss.metrics.BalancedAccuracy(threshold=0.25, num_labels=3), balanced_accuracy
    ),
    "precision_at_k": _ranking_case(uniloss.metrics.PrecisionAtK(top_k=2), precision_at_k, False, top_k=2),
    "recall_at_k": _ranking_case(uniloss.metrics.RecallAtK(top_k=2), recall_at_k, False, top_k=2),
    "ndcg": _ranking_case(uniloss.metrics.NDCG(top_k=3), ndcg, True, top_k=3),
    "mean_average_precision": _mean_average_precision,
    "top_k_accuracy": _top_k_accuracy,
    "iou": _mask_case(uniloss.metrics.IoU, iou),
    "dice": _mask_case(uniloss.metrics.Dice, dice),
}
"""Registry name -> ``(generator, dtype) -> MetricCase``."""


def make_case(
    name: str, *, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", seed: int = 0
) -> MetricCase:
    """Build the case of metric ``name``; fails the test when the metric has no factory."""
    if name not in FACTORIES:
        pytest.fail(f"metric {name!r} is in uniloss.METRICS but has no factory in tests/_helpers/metric_cases.py")
    case = FACTORIES[name](torch.Generator().manual_seed(seed), dtype)
    return case._replace(scores=case.scores.to(device), targets=tuple(t.to(device) for t in case.targets))


@pytest.fixture
def metric_case() -> Callable[..., MetricCase]:
    """Factory fixture: ``metric_case(name, dtype=..., device=..., seed=...)`` -> :class:`MetricCase`."""
    return make_case
