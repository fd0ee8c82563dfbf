"""The loss under test with anchors fixed by a seed, and the checks built on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

import uniloss
from tests._helpers.tolerances import GRADCHECK, TOLERANCES
from uniloss.anchors import PaperAnchors
from uniloss.metrics import MetricRefactoring

IGNORE_NO_COMPARISON_WARNING = pytest.mark.filterwarnings("ignore:.*the batch gives no comparison:UserWarning")
"""For tests that feed batches without any comparison on purpose (the engine warns once per run)."""


def grad_anchors() -> PaperAnchors:
    """Anchors of the gradient checks: 1 ground truth and 4 of each other paper kind."""
    return PaperAnchors(good=4, nearby=4, bad=4)


def limit_anchors() -> PaperAnchors:
    """Anchors that include the current configuration, so the loss tends to the exact loss as temperature -> 0."""
    return PaperAnchors(ground_truth=1, good=4, nearby=4, bad=4, current=1)


def seeded_loss(
    metric: MetricRefactoring,
    *targets: torch.Tensor,
    temperature: float = 1.0,
    anchors: PaperAnchors | None = None,
    seed: int = 0,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``scores -> loss`` that draws the same anchors on every call (a new seeded generator per call)."""
    anchors = grad_anchors() if anchors is None else anchors
    relax = uniloss.Sigmoid(temperature=temperature)

    def loss(scores: torch.Tensor) -> torch.Tensor:
        return uniloss.uniloss(
            scores,
            *targets,
            metric=metric,
            relax=relax,
            anchors=anchors,
            generator=torch.Generator().manual_seed(seed),
        )

    return loss


def assert_gradcheck(metric: MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor, **kwargs) -> None:
    """``torch.autograd.gradcheck`` of the seeded loss in float64."""
    inputs = scores.detach().to(torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(seeded_loss(metric, *targets, **kwargs), (inputs,), **GRADCHECK)


def loss_and_grad(
    metric: MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor, **kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    """The seeded loss and the gradient of the scores."""
    inputs = scores.detach().clone().requires_grad_()
    loss = seeded_loss(metric, *targets, **kwargs)(inputs)
    loss.backward()
    return loss.detach(), inputs.grad


def assert_loss_in_unit_interval(loss: torch.Tensor) -> None:
    """Finite and in [0, 1] up to rounding: the interpolation weights sum to 1 only up to an ulp or so."""
    assert torch.isfinite(loss), f"loss is {loss}"
    slack = TOLERANCES[loss.dtype].atol
    assert -slack <= float(loss) <= 1.0 + slack, f"loss {float(loss)} outside [0, 1]"


def assert_finite_loss_and_grad(metric: MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor, **kwargs):
    """The loss is finite and in [0, 1], the gradient exists and is finite; returns both."""
    loss, grad = loss_and_grad(metric, scores, *targets, **kwargs)
    assert_loss_in_unit_interval(loss)
    assert grad is not None, "no gradient reached the scores"
    assert grad.shape == scores.shape
    assert torch.isfinite(grad).all(), f"non-finite gradient: {grad}"
    return loss, grad


def exact_from_hard_step(metric: MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
    """The refactored metric at the current configuration: ``evaluate(HardStep(c), c)``."""
    comparisons = metric.comparisons(scores, *targets)
    return metric.evaluate(uniloss.HardStep()(comparisons.values)[None], comparisons)[0]


def random_configurations(comparisons: uniloss.Comparisons, num: int, seed: int = 0) -> torch.Tensor:
    """``(num, R, L)`` random +-1 configurations in the layout of ``comparisons`` (padding included)."""
    generator = torch.Generator().manual_seed(seed)
    rows, length = comparisons.shape
    wrong = torch.rand(num, rows, length, generator=generator) < torch.rand(num, 1, 1, generator=generator)
    return torch.where(wrong, -1.0, 1.0)


def assert_counts_equal_dense(metric: MetricRefactoring, comparisons: uniloss.Comparisons, num: int = 8) -> None:
    """``evaluate`` of dense configurations equals ``evaluate_counts`` of their per-row wrong counts."""
    for seed in range(3):
        binaries = random_configurations(comparisons, num, seed)
        wrong = binaries < 0
        if comparisons.mask is not None:
            wrong &= comparisons.mask
        dense = metric.evaluate(binaries, comparisons)
        counted = metric.evaluate_counts(wrong.sum(-1), comparisons)
        assert dense.shape == (num,)
        torch.testing.assert_close(dense, counted, rtol=0, atol=0)
