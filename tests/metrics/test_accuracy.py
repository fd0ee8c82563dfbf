"""Multi-class accuracy: oracle (scikit-learn), tie convention, refactoring identity, gradients and limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score

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
from uniloss.exact import accuracy
from uniloss.metrics import Accuracy


@st.composite
def accuracy_batches(draw, tie_free: bool = False, max_classes: int = 6):
    """``(scores (N, C), targets (N,), candidates)``; scores repeat often unless ``tie_free``."""
    num = draw(st.integers(1, 8))
    classes = draw(st.integers(1, max_classes))
    if tie_free:
        row = st.lists(spread_values, min_size=classes, max_size=classes, unique=True)
    else:
        row = st.lists(st.one_of(tied_values, spread_values), min_size=classes, max_size=classes)
    scores = draw(st.lists(row, min_size=num, max_size=num))
    targets = draw(st.lists(st.integers(0, classes - 1), min_size=num, max_size=num))
    candidates = draw(st.one_of(st.none(), st.integers(2, classes))) if classes > 1 else None
    return torch.tensor(scores, dtype=torch.float32), torch.tensor(targets), candidates


def numpy_accuracy_with_ties_wrong(scores: np.ndarray, targets: np.ndarray) -> float:
    """The documented convention: example n is right iff its true class scores strictly above every other."""
    right = []
    for row, label in zip(scores, targets, strict=True):
        others = np.delete(row, label)
        right.append(bool(others.size == 0 or row[label] > others.max()))
    return float(np.mean(right))


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(accuracy_batches(tie_free=True))
def test_accuracy_equals_sklearn_on_tie_free_scores(batch):
    scores, targets, _ = batch
    expected = accuracy_score(targets.numpy(), scores.argmax(1).numpy())
    assert_close(accuracy(scores, targets), expected)


@PROPERTY_SETTINGS
@given(accuracy_batches())
def test_accuracy_counts_a_true_class_tied_for_the_top_as_wrong(batch):
    scores, targets, _ = batch
    assert_close(
        accuracy(scores, targets, ties="pessimistic"), numpy_accuracy_with_ties_wrong(scores.numpy(), targets.numpy())
    )


@pytest.mark.parametrize(
    ("scores", "targets", "expected"),
    [
        pytest.param([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]], [0, 1, 0], 2 / 3, id="docstring-example"),
        pytest.param([[1.0, 1.0, 0.0]], [0], 0.0, id="tie-for-top-is-wrong-even-where-argmax-is-right"),
        pytest.param([[1.0, 1.0, 2.0]], [0], 0.0, id="tie-below-the-top-is-wrong"),
        pytest.param([[2.0, 1.0, 1.0]], [0], 1.0, id="tie-between-other-classes-is-irrelevant"),
        pytest.param([[0.5], [-3.0]], [0, 0], 1.0, id="one-class-is-always-right"),
        pytest.param([[0.1, 0.2, 0.3]], [2], 1.0, id="one-example"),
    ],
)
def test_accuracy_edge_cases_follow_the_documented_convention(scores, targets, expected):
    assert_close(accuracy(torch.tensor(scores), torch.tensor(targets), ties="pessimistic"), expected)


def test_accuracy_validate_args_false_gives_the_same_value():
    scores, targets = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0, 1, 2])
    assert accuracy(scores, targets, validate_args=False) == accuracy(scores, targets)


# --- refactoring identity -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(accuracy_batches())
def test_evaluate_of_hard_step_equals_functional_accuracy(batch):
    scores, targets, candidates = batch
    metric = Accuracy(num_classes=scores.shape[1], candidates=candidates)
    assert exact_from_hard_step(metric, scores, targets) == accuracy(scores, targets, ties="pessimistic")


@pytest.mark.parametrize(
    ("scores", "targets", "candidates"),
    [
        pytest.param([[1.0]], [0], None, id="one-example-one-class"),
        pytest.param([[1.0, 1.0, 1.0]] * 3, [0, 1, 2], None, id="all-tied"),
        pytest.param([[1.0, 1.0, 1.0]] * 3, [0, 1, 2], 2, id="all-tied-with-candidates"),
        pytest.param([[3.0, 1.0, 2.0, 0.0]], [2], 2, id="true-class-beaten-by-the-one-candidate"),
        pytest.param([[3.0, 1.0, 2.0, 0.0]], [0], 3, id="candidates-below-classes"),
        pytest.param([[3.0, 1.0, 2.0, 0.0]], [1], 4, id="candidates-equal-classes"),
    ],
)
def test_evaluate_of_hard_step_equals_functional_accuracy_on_edge_cases(scores, targets, candidates):
    scores, targets = torch.tensor(scores), torch.tensor(targets)
    metric = Accuracy(num_classes=scores.shape[1], candidates=candidates)
    assert exact_from_hard_step(metric, scores, targets) == accuracy(scores, targets, ties="pessimistic")


@pytest.mark.parametrize(("classes", "candidates"), [(1, None), (2, None), (5, None), (5, 2), (5, 3), (5, 5)])
def test_candidate_layout_has_one_row_per_example_and_candidates_minus_one_entries(classes, candidates):
    scores = torch.randn(4, classes, generator=torch.Generator().manual_seed(0))
    comparisons = Accuracy(num_classes=classes, candidates=candidates).comparisons(scores, torch.zeros(4).long())
    width = classes - 1 if candidates is None else min(candidates, classes) - 1
    assert comparisons.shape == (4, width)


@pytest.mark.parametrize(("num", "classes", "candidates"), [(1, 2, None), (6, 4, None), (6, 7, 3), (3, 1, None)])
def test_accuracy_row_counts_give_the_same_value_as_dense_configurations(num, classes, candidates):
    generator = torch.Generator().manual_seed(num)
    scores = torch.randn(num, classes, generator=generator)
    targets = torch.randint(0, classes, (num,), generator=generator)
    metric = Accuracy(num_classes=classes, candidates=candidates)
    assert_counts_equal_dense(metric, metric.comparisons(scores, targets))


def test_accuracy_of_configurations_is_the_fraction_of_rows_without_a_wrong_binary():
    metric = Accuracy(num_classes=3)
    comparisons = metric.comparisons(torch.zeros(3, 3), torch.tensor([0, 1, 2]))
    binaries = torch.tensor([[[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]], [[1.0, 1.0]] * 3])
    assert_close(metric.evaluate(binaries, comparisons), [1 / 3, 1.0])


# --- gradients ------------------------------------------------------------------------------------------


def spaced_scores(num: int, classes: int, seed: int) -> torch.Tensor:
    """Distinct scores at least 0.2 apart, so that no comparison (or candidate choice) changes under gradcheck."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(num * classes, generator=generator).double().view(num, classes)
    return 0.3 * (order - num * classes / 2) + 0.1 * torch.rand(num, classes, generator=generator, dtype=torch.float64)


@pytest.mark.grad
@pytest.mark.parametrize("candidates", [None, 2, 3], ids=["all-classes", "candidates-2", "candidates-3"])
@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_loss_passes_gradcheck(candidates, seed):
    targets = torch.tensor([0, 1, 2, 3, 0, 1])
    assert_gradcheck(Accuracy(num_classes=4, candidates=candidates), spaced_scores(6, 4, seed), targets)


DEGENERATE_ACCURACY = [
    pytest.param([[0.3, -1.2, 2.0]], [2], None, 1.0, id="one-example"),
    pytest.param([[0.3], [-1.2], [2.0]], [0, 0, 0], None, 1.0, id="one-class"),
    pytest.param([[0.0, 0.0, 0.0]] * 4, [0, 1, 2, 0], None, 1.0, id="all-scores-equal"),
    pytest.param([[0.0, 0.0, 0.0]] * 4, [0, 1, 2, 0], 2, 1.0, id="all-scores-equal-with-candidates"),
    pytest.param([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], [0, 1], None, 0.01, id="saturated-right"),
    pytest.param([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], [2, 0], None, 0.01, id="saturated-wrong"),
    pytest.param([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], [2, 0], 2, 0.01, id="saturated-wrong-with-candidates"),
    pytest.param([[1e4, 1e4, -1e4], [-1e4, 1e4, -1e4]], [0, 1], 2, 0.01, id="saturated-with-tie"),
]


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize(("scores", "targets", "candidates", "temperature"), DEGENERATE_ACCURACY)
def test_accuracy_grads_are_finite_on_degenerate_batches(dtype, scores, targets, candidates, temperature):
    scores = torch.tensor(scores, dtype=dtype)
    metric = Accuracy(num_classes=scores.shape[1], candidates=candidates)
    assert_finite_loss_and_grad(metric, scores, torch.tensor(targets), temperature=temperature)


def test_accuracy_loss_at_a_saturated_anchor_is_the_exact_loss():
    # b~ is exactly +-1 in float32: the relaxed point is the current configuration, which is an anchor here;
    # the loss is its exact loss (one of two examples wrong) and the gradient vanishes.
    scores, targets = torch.tensor([[1e4, 0.0, -1e4], [0.0, 1e4, -1e4]]), torch.tensor([0, 2])
    metric = Accuracy(num_classes=3)
    relaxed = uniloss.Sigmoid(0.01)(metric.comparisons(scores, targets).values)
    assert (relaxed.abs() == 1).all()
    loss, grad = assert_finite_loss_and_grad(metric, scores, targets, temperature=0.01, anchors=limit_anchors())
    assert_close(loss, 0.5)
    assert (grad == 0).all()


# --- limit ----------------------------------------------------------------------------------------------


@st.composite
def tie_free_accuracy_batches(draw):
    """Each row a permutation of 0..C-1 (comparisons at least 1 apart), random labels and candidates."""
    num = draw(st.integers(1, 6))
    classes = draw(st.integers(1, 6))
    rows = draw(st.lists(st.permutations(range(classes)), min_size=num, max_size=num))
    targets = draw(st.lists(st.integers(0, classes - 1), min_size=num, max_size=num))
    candidates = draw(st.one_of(st.none(), st.integers(2, classes))) if classes > 1 else None
    return torch.tensor(rows, dtype=torch.float64), torch.tensor(targets), candidates


@IGNORE_NO_COMPARISON_WARNING
@SLOW_PROPERTY_SETTINGS
@given(tie_free_accuracy_batches())
def test_accuracy_loss_tends_to_one_minus_exact_accuracy_as_temperature_vanishes(batch):
    scores, targets, candidates = batch
    metric = Accuracy(num_classes=scores.shape[1], candidates=candidates)
    loss = seeded_loss(metric, targets, temperature=1e-4, anchors=limit_anchors())(scores)
    assert_close(loss, 1 - accuracy(scores, targets).double(), dtype=torch.float64)


@pytest.mark.parametrize("candidates", [None, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_loss_differs_from_exact_loss_at_temperature_one(candidates, seed):
    scores = spaced_scores(6, 5, seed)
    targets = torch.tensor([0, 1, 2, 3, 4, 0])
    metric = Accuracy(num_classes=5, candidates=candidates)
    loss = seeded_loss(metric, targets, temperature=1.0, anchors=limit_anchors())(scores)
    gap = abs(float(loss) - (1 - float(accuracy(scores, targets))))
    assert gap > 100 * TOLERANCES[torch.float64].atol
