"""One small random valid batch per registered metric, keyed by the metric's registry name.

A metric added to ``uniloss.METRICS`` needs an entry in ``FACTORIES``; ``tests/metrics/test_contract.py``
fails for a registered metric without one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
import torch

import uniloss
from uniloss.metrics import MetricRefactoring


class MetricCase(NamedTuple):
    """A metric instance, a batch for it and its exact metric as a function of the scores."""

    metric: MetricRefactoring
    scores: torch.Tensor
    targets: tuple[torch.Tensor, ...]
    exact: Callable[..., torch.Tensor]
    """``exact(scores, *targets)``: the functional form of the metric with the instance's options."""


# Random draws are made in float64 and cast, so the batches of all dtypes are roundings of one batch.


def _average_precision(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    targets = (torch.rand(10, generator=generator) < 0.4).long()
    targets[:2] = torch.tensor([1, 0])  # at least one positive and one negative
    scores = torch.randn(10, generator=generator, dtype=torch.float64).to(dtype)
    return MetricCase(uniloss.metrics.AveragePrecision(), scores, (targets,), uniloss.functional.average_precision)


def _accuracy(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    scores = torch.randn(8, 4, generator=generator, dtype=torch.float64).to(dtype)
    targets = torch.randint(0, 4, (8,), generator=generator)
    return MetricCase(uniloss.metrics.Accuracy(num_classes=4), scores, (targets,), uniloss.functional.accuracy)


def _pck(generator: torch.Generator, dtype: torch.dtype) -> MetricCase:
    heatmaps = torch.randn(2, 3, 6, 6, generator=generator, dtype=torch.float64).to(dtype)
    joints = (torch.rand(2, 3, 2, generator=generator, dtype=torch.float64) * 5).to(dtype)
    visible = torch.rand(2, 3, generator=generator) < 0.7
    visible[0, 0] = True
    head_size = (2 + 2 * torch.rand(2, generator=generator, dtype=torch.float64)).to(dtype)
    metric = uniloss.metrics.PCK(threshold=0.5)

    def exact(scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        return uniloss.functional.pck(scores, *targets, threshold=metric.threshold)

    return MetricCase(metric, heatmaps, (joints, visible, head_size), exact)


FACTORIES: dict[str, Callable[[torch.Generator, torch.dtype], MetricCase]] = {
    "average_precision": _average_precision,
    "accuracy": _accuracy,
    "pck": _pck,
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
