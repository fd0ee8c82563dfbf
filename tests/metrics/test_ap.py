"""Average precision: oracle (scikit-learn, NumPy), refactoring identity, gradients and limit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

import uniloss
from tests._helpers.losses import (
    IGNORE_NO_COMPARISON_WARNING,
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
    limit_anchors,
    seeded_loss,
)
from tests._helpers.properties import PROPERTY_SETTINGS, SLOW_PROPERTY_SETTINGS, spread_values, tied_values
from tests._helpers.tolerances import TOLERANCES, assert_close
from uniloss.exact import average_precision
from uniloss.metrics import AveragePrecision

MODES = ["step", "interpolated"]


@st.composite
def ap_batches(draw, distinct_positives: bool = False, values=None, min_size: int = 1):
    """``(scores, targets)``: up to 6 positives and 8 negatives, shuffled; ties between them are common."""
    values = st.one_of(tied_values, spread_values) if values is None else values
    num_positives = draw(st.integers(0, 6))
    num_negatives = draw(st.integers(max(0, min_size - num_positives), 8))
    positives = draw(st.lists(values, min_size=num_positives, max_size=num_positives, unique=distinct_positives))
    negatives = draw(st.lists(values, min_size=num_negatives, max_size=num_negatives))
    order = draw(st.permutations(range(num_positives + num_negatives)))
    scores = [(positives + negatives)[i] for i in order]
    labels = [int(i < num_positives) for i in order]
    return torch.tensor(scores, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


def sklearn_ap(scores: torch.Tensor, targets: torch.Tensor) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No positive class found in y_true"
        return float(average_precision_score(targets.numpy(), scores.numpy()))


def numpy_interpolated_ap(scores: np.ndarray, targets: np.ndarray) -> float:
    """Interpolated AP written out: walk the ranking, record precision at each positive, make it monotone.

    The ranking sorts by decreasing score and, within a tie, puts negatives before positives (the
    convention of the step AP); tied positives keep their order, which does not matter here.
    """
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), int(targets[i])))
    precisions, hits = [], 0
    for rank, i in enumerate(order, start=1):
        if targets[i]:
            hits += 1
            precisions.append(hits / rank)
    if not precisions:
        return 0.0
    monotone = [max(precisions[j:]) for j in range(len(precisions))]
    return float(np.mean(monotone))


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ap_batches(distinct_positives=True))
def test_step_ap_equals_sklearn_when_positive_scores_are_distinct(batch):
    scores, targets = batch
    assert_close(average_precision(scores, targets, mode="step"), sklearn_ap(scores, targets))


@pytest.mark.parametrize(
    ("scores", "targets", "expected"),
    [
        pytest.param([0.3, -1.0, 2.0], [0, 0, 0], 0.0, id="no-positive"),
        pytest.param([0.3, -1.0, 2.0], [1, 1, 1], 1.0, id="all-positive"),
        pytest.param([0.0, 0.0, 0.0], [1, 1, 1], 1.0, id="all-positive-tied"),
        pytest.param([0.7], [1], 1.0, id="one-positive"),
        pytest.param([0.7], [0], 0.0, id="one-negative"),
        pytest.param([1.0, 1.0], [1, 0], 0.5, id="positive-tied-with-negative-ranks-below-it"),
        pytest.param([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0], (1 + 2 / 3) / 2, id="docstring-example"),
    ],
)
def test_step_ap_edge_cases_match_sklearn_and_definition(scores, targets, expected):
    scores, targets = torch.tensor(scores), torch.tensor(targets)
    assert_close(average_precision(scores, targets), expected)
    assert_close(sklearn_ap(scores, targets), expected)


def test_tied_positives_take_successive_precisions_unlike_sklearn():
    # One negative above two tied positives: ranks 1 and 2 among positives with one negative above each,
    # precisions 1/2 and 2/3; scikit-learn gives both the precision at the bottom of the tie, 2/3.
    scores, targets = torch.tensor([2.0, 1.0, 1.0]), torch.tensor([0, 1, 1])
    assert_close(average_precision(scores, targets, ties="pessimistic"), (1 / 2 + 2 / 3) / 2)
    assert_close(sklearn_ap(scores, targets), 2 / 3)
    # Interpolated AP lifts the first precision to 2/3: it agrees with scikit-learn's value here.
    assert_close(average_precision(scores, targets, mode="interpolated", ties="pessimistic"), 2 / 3)


def test_bool_targets_give_the_same_ap_as_int_targets():
    scores, targets = torch.tensor([0.2, 0.9, -0.4, 0.5]), torch.tensor([1, 0, 0, 1])
    for mode in MODES:
        assert average_precision(scores, targets.bool(), mode=mode) == average_precision(scores, targets, mode=mode)


@PROPERTY_SETTINGS
@given(ap_batches())
def test_interpolated_ap_equals_numpy_reference(batch):
    scores, targets = batch
    expected = numpy_interpolated_ap(scores.numpy(), targets.numpy())
    assert_close(average_precision(scores, targets, mode="interpolated"), expected)


@PROPERTY_SETTINGS
@given(ap_batches())
def test_interpolated_ap_is_at_least_step_ap(batch):
    scores, targets = batch
    assert average_precision(scores, targets, mode="interpolated") >= average_precision(scores, targets, mode="step")


@pytest.mark.parametrize("mode", MODES)
def test_ap_edge_cases_are_zero_without_positives_and_one_without_negatives(mode):
    assert average_precision(torch.tensor([1.0, 2.0]), torch.tensor([0, 0]), mode=mode) == 0
    assert average_precision(torch.tensor([1.0, 2.0]), torch.tensor([1, 1]), mode=mode) == 1
    assert average_precision(torch.tensor([1.0]), torch.tensor([1]), mode=mode) == 1
    assert average_precision(torch.tensor([1.0]), torch.tensor([0]), mode=mode) == 0


def test_ap_validate_args_false_gives_the_same_value():
    scores, targets = torch.tensor([0.2, 0.9, -0.4, 0.5]), torch.tensor([1, 0, 0, 1])
    assert average_precision(scores, targets, validate_args=False) == average_precision(scores, targets)


# --- refactoring identity -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@PROPERTY_SETTINGS
@given(batch=ap_batches())
def test_evaluate_of_hard_step_equals_functional_ap(mode, batch):
    scores, targets = batch
    metric = AveragePrecision(mode=mode)
    assert exact_from_hard_step(metric, scores, targets) == average_precision(
        scores, targets, mode=mode, ties="pessimistic"
    )


@pytest.mark.parametrize(
    ("scores", "targets"),
    [
        pytest.param([0.5], [1], id="one-positive"),
        pytest.param([0.5], [0], id="one-negative"),
        pytest.param([0.5, 0.5, 0.5], [1, 1, 1], id="all-positive"),
        pytest.param([0.5, 1.5, -0.5], [0, 0, 0], id="no-positive"),
        pytest.param([1.0, 1.0, 1.0, 1.0], [1, 0, 1, 0], id="all-tied"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_evaluate_of_hard_step_equals_functional_ap_on_edge_cases(mode, scores, targets):
    scores, targets = torch.tensor(scores), torch.tensor(targets)
    metric = AveragePrecision(mode=mode)
    assert exact_from_hard_step(metric, scores, targets) == average_precision(
        scores, targets, mode=mode, ties="pessimistic"
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("positives", "negatives"), [(1, 1), (3, 5), (6, 2), (4, 0), (0, 3)])
def test_ap_row_counts_give_the_same_value_as_dense_configurations(mode, positives, negatives):
    targets = torch.tensor([1] * positives + [0] * negatives)
    scores = torch.randn(positives + negatives, generator=torch.Generator().manual_seed(positives))
    metric = AveragePrecision(mode=mode)
    assert_counts_equal_dense(metric, metric.comparisons(scores, targets))


def test_ap_of_configurations_counts_negatives_above_each_positive():
    # Two positives, three negatives: positive 0 below one negative, positive 1 below all three.
    metric = AveragePrecision()
    comparisons = metric.comparisons(torch.zeros(5), torch.tensor([1, 1, 0, 0, 0]))
    binaries = torch.tensor([[[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]]])
    assert_close(metric.evaluate(binaries, comparisons), [(1 / 2 + 2 / 5) / 2])


# --- gradients ------------------------------------------------------------------------------------------


def spaced_scores(num: int, seed: int) -> torch.Tensor:
    """Distinct scores at least 0.4 apart, so that no comparison changes sign under gradcheck's steps."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(num, generator=generator).double()
    return 0.5 * (order - num / 2) + 0.1 * torch.rand(num, generator=generator, dtype=torch.float64)


@pytest.mark.grad
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", [0, 1])
def test_ap_loss_passes_gradcheck(mode, seed):
    targets = torch.tensor([1, 0, 0, 1, 0, 1, 0, 0])
    assert_gradcheck(AveragePrecision(mode=mode), spaced_scores(8, seed), targets)


DEGENERATE_AP = [
    pytest.param([0.3, -1.2, 2.0, 0.1], [0, 0, 0, 0], 1.0, id="no-positive"),
    pytest.param([0.3, -1.2, 2.0, 0.1], [1, 1, 1, 1], 1.0, id="all-positive"),
    pytest.param([0.3], [1], 1.0, id="one-example"),
    pytest.param([0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0], 1.0, id="all-scores-equal"),
    pytest.param([1e4, -1e4, 1e4, -1e4], [1, 0, 1, 0], 0.01, id="saturated-right"),
    pytest.param([-1e4, 1e4, -1e4, 1e4], [1, 0, 1, 0], 0.01, id="saturated-wrong"),
    pytest.param([1e4, 1e4, -1e4, -1e4], [1, 0, 0, 1], 0.01, id="saturated-mixed-with-tie"),
]


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("scores", "targets", "temperature"), DEGENERATE_AP)
def test_ap_grads_are_finite_on_degenerate_batches(dtype, mode, scores, targets, temperature):
    scores = torch.tensor(scores, dtype=dtype)
    assert_finite_loss_and_grad(AveragePrecision(mode=mode), scores, torch.tensor(targets), temperature=temperature)


def test_ap_loss_at_a_saturated_anchor_is_the_exact_loss():
    # b~ is exactly +-1 in float32: the relaxed point is the ground-truth anchor itself.
    scores = torch.tensor([1e4, -1e4, 1e4, -1e4])
    targets = torch.tensor([1, 0, 1, 0])
    relaxed = uniloss.Sigmoid(0.01)(AveragePrecision().comparisons(scores, targets).values)
    assert (relaxed.abs() == 1).all()
    loss, grad = assert_finite_loss_and_grad(AveragePrecision(), scores, targets, temperature=0.01)
    assert_close(loss, 0.0)
    assert (grad == 0).all()


# --- limit ----------------------------------------------------------------------------------------------


@st.composite
def tie_free_ap_batches(draw):
    """Scores a permutation of 0..N-1 (comparisons at least 1 apart) and random labels."""
    num = draw(st.integers(1, 10))
    order = draw(st.permutations(range(num)))
    labels = draw(st.lists(st.integers(0, 1), min_size=num, max_size=num))
    return torch.tensor(order, dtype=torch.float64), torch.tensor(labels)


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize("mode", MODES)
@SLOW_PROPERTY_SETTINGS
@given(batch=tie_free_ap_batches())
def test_ap_loss_tends_to_one_minus_exact_ap_as_temperature_vanishes(mode, batch):
    scores, targets = batch
    metric = AveragePrecision(mode=mode)
    loss = seeded_loss(metric, targets, temperature=1e-4, anchors=limit_anchors())(scores)
    expected = 1 - average_precision(scores, targets, mode=mode).double()
    assert_close(loss, expected, dtype=torch.float64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ap_loss_differs_from_exact_loss_at_temperature_one(mode, seed):
    scores = spaced_scores(10, seed)
    targets = torch.tensor([1, 0, 0, 1, 0, 1, 0, 0, 1, 0])
    metric = AveragePrecision(mode=mode)
    loss = seeded_loss(metric, targets, temperature=1.0, anchors=limit_anchors())(scores)
    gap = abs(float(loss) - (1 - float(average_precision(scores, targets, mode=mode))))
    assert gap > 100 * TOLERANCES[torch.float64].atol
