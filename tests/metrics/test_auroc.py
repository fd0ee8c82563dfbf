"""AUROC: oracle (scikit-learn), tie convention, refactoring identity, gradients and degenerate batches."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from sklearn.metrics import roc_auc_score

from tests._helpers.losses import (
    IGNORE_NO_COMPARISON_WARNING,
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
)
from tests._helpers.properties import PROPERTY_SETTINGS, spread_values
from tests._helpers.tolerances import assert_close
from tests.metrics.test_ap import ap_batches, spaced_scores
from uniloss.metrics import AUROC
from uniloss.metrics.auroc import auroc

# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ap_batches(distinct_positives=True, values=spread_values))
def test_auroc_equals_sklearn_when_both_classes_are_present(batch):
    scores, targets = batch
    if targets.min() == targets.max():
        assert auroc(scores, targets) == 0  # scikit-learn raises; torchmetrics returns 0
        return
    assert_close(auroc(scores, targets), roc_auc_score(targets.numpy(), scores.numpy()))


def test_a_positive_tied_with_a_negative_is_a_wrong_pair_where_sklearn_gives_half_credit():
    scores, targets = torch.tensor([1.0, 1.0, 2.0, 0.0]), torch.tensor([1, 0, 1, 0])
    assert_close(
        auroc(scores, targets, ties="pessimistic"), 3 / 4
    )  # pairs (1.0, 1.0) wrong; (2, 1), (2, 0), (1, 0) right
    assert roc_auc_score(targets.numpy(), scores.numpy()) == 3.5 / 4


@pytest.mark.parametrize(
    ("scores", "targets", "expected"),
    [
        pytest.param([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0], 3 / 4, id="docstring-example"),
        pytest.param([0.3, -1.0], [0, 0], 0.0, id="no-positive"),
        pytest.param([0.3, -1.0], [1, 1], 0.0, id="no-negative"),
        pytest.param([0.5], [1], 0.0, id="one-example"),
        pytest.param([0.0, 0.0, 0.0], [1, 0, 1], 0.0, id="all-tied"),
        pytest.param([3.0, 2.0, 1.0], [1, 1, 0], 1.0, id="perfect"),
    ],
)
def test_auroc_edge_cases_follow_the_documented_convention(scores, targets, expected):
    assert_close(auroc(torch.tensor(scores), torch.tensor(targets), ties="pessimistic"), expected)


def test_bool_targets_and_validate_args_false_give_the_same_value():
    scores, targets = torch.tensor([0.2, 0.9, -0.4, 0.5]), torch.tensor([1, 0, 0, 1])
    assert auroc(scores, targets.bool()) == auroc(scores, targets) == auroc(scores, targets, validate_args=False)


# --- refactoring identity -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ap_batches())
def test_evaluate_of_hard_step_equals_functional_auroc_with_ties(batch):
    scores, targets = batch
    assert exact_from_hard_step(AUROC(), scores, targets) == auroc(scores, targets, ties="pessimistic")


@pytest.mark.parametrize(("positives", "negatives"), [(1, 1), (3, 5), (4, 0), (0, 3)])
def test_auroc_row_counts_give_the_same_value_as_dense_configurations(positives, negatives):
    targets = torch.tensor([1] * positives + [0] * negatives)
    scores = torch.randn(positives + negatives, generator=torch.Generator().manual_seed(positives))
    assert_counts_equal_dense(AUROC(), AUROC().comparisons(scores, targets))


# --- gradients ------------------------------------------------------------------------------------------


@pytest.mark.grad
@pytest.mark.parametrize("seed", [0, 1])
def test_auroc_loss_passes_gradcheck(seed):
    assert_gradcheck(AUROC(), spaced_scores(8, seed), torch.tensor([1, 0, 0, 1, 0, 1, 0, 0]))


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize(
    ("scores", "targets", "temperature"),
    [
        pytest.param([0.3, -1.2, 2.0, 0.1], [0, 0, 0, 0], 1.0, id="no-positive"),
        pytest.param([0.3, -1.2, 2.0, 0.1], [1, 1, 1, 1], 1.0, id="all-positive"),
        pytest.param([0.3], [1], 1.0, id="one-example"),
        pytest.param([0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0], 1.0, id="all-scores-equal"),
        pytest.param([1e4, -1e4, -1e4, 1e4], [1, 0, 1, 0], 0.01, id="saturated"),
    ],
)
def test_auroc_grads_are_finite_on_degenerate_batches(dtype, scores, targets, temperature):
    assert_finite_loss_and_grad(
        AUROC(), torch.tensor(scores, dtype=dtype), torch.tensor(targets), temperature=temperature
    )
