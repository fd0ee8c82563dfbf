"""Contract of every metric in the registry: the same checks for each, driven by ``uniloss.METRICS``.

A metric registered by the library needs a factory in ``tests/_helpers/metric_cases.py`` (its instance and a
small valid batch); ``test_every_registered_metric_has_a_factory`` fails until it has one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import uniloss
from tests._helpers.losses import assert_loss_in_unit_interval, exact_from_hard_step, limit_anchors
from tests._helpers.metric_cases import FACTORIES, MetricCase
from tests._helpers.tolerances import TOLERANCES, assert_close
from uniloss.anchors import CURRENT, PaperAnchors
from uniloss.metrics import MetricRefactoring

REGISTERED = sorted(name for name, cls in uniloss.METRICS.items() if cls.__module__.startswith("uniloss."))
"""Metrics the library registers (a test may register throw-away metrics of its own)."""

per_metric = pytest.mark.parametrize("name", REGISTERED)


def _parts(seed: int = 0, temperature: float = 1.0, power: float = 1.0) -> dict:
    return {
        "relax": uniloss.Sigmoid(temperature=temperature),
        "anchors": PaperAnchors(good=4, nearby=4, bad=4),
        "interpolator": uniloss.InverseDistanceWeighting(power=power),
        "generator": torch.Generator().manual_seed(seed),
    }


def _loss_and_grad(case: MetricCase, **parts) -> tuple[torch.Tensor, torch.Tensor]:
    scores = case.scores.detach().clone().requires_grad_()
    loss = uniloss.uniloss(scores, *case.targets, metric=case.metric, **(parts or _parts()))
    loss.backward()
    return loss.detach(), scores.grad


def _exact_loss(case: MetricCase) -> torch.Tensor:
    value = case.exact(case.scores, *case.targets).double()
    return 1 - value if case.metric.higher_is_better else value


def test_every_registered_metric_has_a_factory():
    missing = sorted(set(REGISTERED) - set(FACTORIES))
    assert not missing, f"registered metrics without a factory in tests/_helpers/metric_cases.py: {missing}"


@per_metric
def test_factory_builds_an_instance_of_the_registered_class_and_a_valid_batch(name, metric_case):
    case = metric_case(name)
    assert isinstance(case.metric, uniloss.METRICS[name])
    assert isinstance(case.metric, MetricRefactoring)
    assert case.metric.name == name
    case.metric.check(case.scores, *case.targets)  # raises if the batch is invalid


@per_metric
def test_loss_is_finite_in_unit_interval_and_keeps_the_scores_dtype(name, metric_case, dtype, device):
    case = metric_case(name, dtype=dtype, device=device)
    loss, _ = _loss_and_grad(case)
    assert loss.shape == ()
    assert loss.dtype == dtype
    assert loss.device == case.scores.device
    assert_loss_in_unit_interval(loss)


@per_metric
def test_backward_gives_finite_gradients_of_the_scores_shape(name, metric_case, dtype, device):
    case = metric_case(name, dtype=dtype, device=device)
    _, grad = _loss_and_grad(case)
    assert grad is not None
    assert grad.shape == case.scores.shape
    assert grad.dtype == dtype
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0, "a batch with wrong comparisons should get a non-zero gradient"


@per_metric
def test_float32_loss_matches_float64_loss(name, metric_case):
    case32 = metric_case(name, dtype=torch.float32)
    case64 = case32._replace(scores=case32.scores.double())  # the same numbers: the same anchors are drawn
    loss32, grad32 = _loss_and_grad(case32)
    loss64, grad64 = _loss_and_grad(case64)
    assert_close(loss32, loss64)
    tol = TOLERANCES[torch.float32]
    torch.testing.assert_close(grad32.double(), grad64, rtol=100 * tol.rtol, atol=100 * tol.atol)


@per_metric
def test_module_equals_functional_with_the_same_seed(name, metric_case):
    case = metric_case(name)
    module = uniloss.UniLoss(case.metric, **_parts(seed=3))
    expected = uniloss.uniloss(case.scores, *case.targets, metric=case.metric, **_parts(seed=3))
    assert torch.equal(module(case.scores, *case.targets), expected)


@per_metric
def test_module_shorthands_equal_the_explicit_parts(name, metric_case):
    case = metric_case(name)
    generator = torch.Generator().manual_seed(1)
    module = uniloss.UniLoss(case.metric, temperature=0.5, power=2.0, generator=generator)
    expected = uniloss.uniloss(
        case.scores,
        *case.targets,
        metric=case.metric,
        relax=uniloss.Sigmoid(0.5),
        interpolator=uniloss.InverseDistanceWeighting(2.0),
        generator=torch.Generator().manual_seed(1),
    )
    assert torch.equal(module(case.scores, *case.targets), expected)


@per_metric
def test_seeded_generator_repeats_loss_and_gradients_exactly(name, metric_case):
    case = metric_case(name)
    first, second = _loss_and_grad(case, **_parts(seed=5)), _loss_and_grad(case, **_parts(seed=5))
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


@per_metric
def test_validate_args_false_gives_the_same_loss(name, metric_case):
    case = metric_case(name)
    checked = uniloss.uniloss(case.scores, *case.targets, metric=case.metric, **_parts())
    unchecked = uniloss.uniloss(case.scores, *case.targets, metric=case.metric, validate_args=False, **_parts())
    assert torch.equal(checked, unchecked)


@per_metric
def test_evaluate_of_hard_step_equals_the_functional_metric(name, metric_case):
    case = metric_case(name)
    assert exact_from_hard_step(case.metric, case.scores, *case.targets) == case.exact(case.scores, *case.targets)


@per_metric
def test_loss_tends_to_the_exact_loss_as_temperature_vanishes(name, metric_case):
    case = metric_case(name)
    loss = uniloss.uniloss(
        case.scores,
        *case.targets,
        metric=case.metric,
        relax=uniloss.Sigmoid(1e-8),
        anchors=limit_anchors(),
        generator=torch.Generator().manual_seed(0),
    )
    assert_close(loss, _exact_loss(case))


# --- the engine's count path against dense references ---------------------------------------------------


class _DenseOnly(MetricRefactoring):
    """``inner`` without :meth:`evaluate_counts`: the engine materialises its anchors (the dense path)."""

    def __init__(self, inner: MetricRefactoring) -> None:
        self.inner = inner
        self.higher_is_better = inner.higher_is_better

    def comparisons(self, scores, *targets):
        return self.inner.comparisons(scores, *targets)

    def check(self, scores, *targets):
        self.inner.check(scores, *targets)

    def evaluate(self, binaries, comparisons):
        return self.inner.evaluate(binaries, comparisons)


@per_metric
def test_dense_anchor_path_gives_the_same_loss_and_gradients_as_the_count_path(name, metric_case):
    case = metric_case(name)
    assert case.metric.uses_counts
    assert not _DenseOnly(case.metric).uses_counts
    counted = _loss_and_grad(case, **_parts(seed=2))
    dense = _loss_and_grad(case._replace(metric=_DenseOnly(case.metric)), **_parts(seed=2))
    assert_close(counted[0], dense[0])
    assert_close(counted[1], dense[1])


def _materialise(drawn, wrong: torch.Tensor) -> torch.Tensor:
    """``(K, R, L)`` bool wrong binaries of every anchor, written out from the sparse description."""
    anchors = []
    for base, flip in zip(drawn.base.tolist(), drawn.flip.tolist(), strict=True):
        anchor = wrong.clone() if base == CURRENT else torch.zeros_like(wrong)
        if flip >= 0:
            anchor.view(-1)[flip] ^= True
        anchors.append(anchor)
    if drawn.random is not None:
        codes = drawn.random.codes.cpu().numpy()  # bit k % 8 of byte plane k // 8 is anchor k
        bits = np.unpackbits(codes[..., None], axis=-1, bitorder="little")  # (G, R, L, 8)
        bits = bits.transpose(0, 3, 1, 2).reshape(-1, *wrong.shape)[: drawn.random.count]
        anchors.extend(torch.from_numpy(bits.astype(bool)))
    return torch.stack(anchors)


@per_metric
def test_loss_equals_inverse_distance_weighting_over_written_out_anchors(name, metric_case):
    case = metric_case(name)
    metric, power = case.metric, 1.5
    comparisons = metric.comparisons(case.scores, *case.targets)
    values = comparisons.values
    mask = torch.ones_like(values, dtype=torch.bool) if comparisons.mask is None else comparisons.mask
    wrong = (values <= 0) & mask
    parts = _parts(seed=4, power=power)
    drawn = parts["anchors"].sample(wrong, comparisons.mask, torch.Generator().manual_seed(4))
    anchors = _materialise(drawn, wrong)
    assert not (anchors & ~mask).any(), "an anchor sets a padding entry"
    signs = torch.where(anchors, -1.0, 1.0).double()
    relaxed = torch.where(mask, parts["relax"](values), 1.0)
    squared = ((relaxed - signs) ** 2).sum((1, 2))
    weights = squared ** (-power / 2)
    interpolated = (weights * metric.evaluate(signs, comparisons).double()).sum() / weights.sum()
    expected = 1 - interpolated if metric.higher_is_better else interpolated
    loss = uniloss.uniloss(case.scores, *case.targets, metric=metric, **parts)
    assert_close(loss, expected)
