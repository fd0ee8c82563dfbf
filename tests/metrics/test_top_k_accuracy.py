"""Top-k accuracy: oracle (scikit-learn), tie convention, refactoring identity, gradients and degenerate batches."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import top_k_accuracy_score

from tests._helpers.losses import (
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
)
from tests._helpers.properties import PROPERTY_SETTINGS
from tests._helpers.tolerances import assert_close
from tests.metrics.test_accuracy import accuracy_batches, spaced_scores
from uniloss.metrics import Accuracy, TopKAccuracy
from uniloss.metrics.accuracy import accuracy
from uniloss.metrics.top_k_accuracy import top_k_accuracy


@PROPERTY_SETTINGS
@given(accuracy_batches(tie_free=True), st.integers(1, 4))
def test_top_k_accuracy_equals_sklearn_on_tie_free_scores(batch, top_k):
    scores, targets, _ = batch
    classes = scores.shape[1]
    if classes < 3:
        return  # scikit-learn reads two columns as binary input
    expected = top_k_accuracy_score(targets.numpy(), scores.numpy(), k=top_k, labels=list(range(classes)))
    assert_close(top_k_accuracy(scores, targets, top_k=top_k), expected)


def test_a_class_tied_with_the_true_class_counts_above_it():
    scores, targets = torch.tensor([[1.0, 1.0, 0.0, 2.0]]), torch.tensor([0])
    assert top_k_accuracy(scores, targets, top_k=2, ties="pessimistic") == 0  # classes 3 and 1 are above
    assert top_k_accuracy(scores, targets, top_k=3, ties="pessimistic") == 1


@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_accuracy_edge_cases(top_k):
    scores, targets = torch.tensor([[0.1, 0.2, 0.3]] * 2), torch.tensor([0, 2])
    assert_close(top_k_accuracy(scores, targets, top_k=top_k), {1: 0.5, 3: 1.0, 7: 1.0}[top_k])
    assert top_k_accuracy(torch.tensor([[0.5]]), torch.tensor([0]), top_k=top_k) == 1  # one class


@PROPERTY_SETTINGS
@given(accuracy_batches(), st.integers(1, 7))
def test_evaluate_of_hard_step_equals_functional_with_ties_and_top_one_is_accuracy(batch, top_k):
    scores, targets, _ = batch
    metric = TopKAccuracy(num_classes=scores.shape[1], top_k=min(top_k, scores.shape[1]))  # k >= C: always right
    assert exact_from_hard_step(metric, scores, targets) == top_k_accuracy(
        scores, targets, top_k=top_k, ties="pessimistic"
    )
    assert top_k_accuracy(scores, targets, ties="pessimistic") == accuracy(scores, targets, ties="pessimistic")


@pytest.mark.parametrize(("num", "classes", "top_k"), [(1, 2, 1), (6, 4, 2), (5, 1, 1)])
def test_row_counts_give_the_same_value_as_dense_configurations(num, classes, top_k):
    generator = torch.Generator().manual_seed(num)
    scores, targets = (
        torch.randn(num, classes, generator=generator),
        torch.randint(0, classes, (num,), generator=generator),
    )
    metric = TopKAccuracy(num_classes=classes, top_k=top_k)
    assert_counts_equal_dense(metric, metric.comparisons(scores, targets))


def test_layout_is_the_layout_of_accuracy():
    scores, targets = torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 0])
    expected = Accuracy(num_classes=4).comparisons(scores, targets).values
    assert torch.equal(TopKAccuracy(num_classes=4, top_k=2).comparisons(scores, targets).values, expected)


@pytest.mark.grad
@pytest.mark.parametrize("top_k", [1, 2])
def test_top_k_accuracy_loss_passes_gradcheck(top_k):
    assert_gradcheck(
        TopKAccuracy(num_classes=4, top_k=top_k), spaced_scores(6, 4, top_k), torch.tensor([0, 1, 2, 3, 0, 1])
    )


@pytest.mark.parametrize(
    ("scores", "targets", "temperature"),
    [
        pytest.param([[0.3, -1.2, 2.0]], [2], 1.0, id="one-example"),
        pytest.param([[0.0, 0.0, 0.0]] * 3, [0, 1, 2], 1.0, id="all-scores-equal"),
        pytest.param([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], [2, 0], 0.01, id="saturated"),
    ],
)
def test_top_k_accuracy_grads_are_finite_on_degenerate_batches(dtype, scores, targets, temperature):
    metric = TopKAccuracy(num_classes=3, top_k=2)
    assert_finite_loss_and_grad(
        metric, torch.tensor(scores, dtype=dtype), torch.tensor(targets), temperature=temperature
    )
