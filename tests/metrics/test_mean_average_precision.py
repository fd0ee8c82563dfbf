"""Mean average precision: oracle (scikit-learn per label), labels without positives, the refactoring
identity, gradients and degenerate batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from tests._helpers.losses import (
    IGNORE_NO_COMPARISON_WARNING,
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
)
from tests._helpers.properties import PROPERTY_SETTINGS, spread_values, tied_values
from tests._helpers.tolerances import assert_close
from uniloss.metrics import MeanAveragePrecision
from uniloss.metrics.ap import average_precision
from uniloss.metrics.mean_average_precision import mean_average_precision

MODES = ["step", "interpolated"]


@st.composite
def multilabel_batches(draw, tie_free: bool = False):
    """``(scores (N, L), targets (N, L))``; with ``tie_free`` the scores of each label are distinct."""
    num, labels = draw(st.integers(1, 8)), draw(st.integers(1, 4))
    if tie_free:
        columns = [draw(st.lists(spread_values, min_size=num, max_size=num, unique=True)) for _ in range(labels)]
        scores = torch.tensor(columns, dtype=torch.float32).T
    else:
        values = draw(st.lists(st.one_of(tied_values, spread_values), min_size=num * labels, max_size=num * labels))
        scores = torch.tensor(values, dtype=torch.float32).view(num, labels)
    targets = draw(st.lists(st.integers(0, 1), min_size=num * labels, max_size=num * labels))
    return scores, torch.tensor(targets).view(num, labels)


def sklearn_map(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean over labels with a positive of scikit-learn's AP of that label; 0 without any."""
    with_positive = [j for j in range(targets.shape[1]) if targets[:, j].any()]
    if not with_positive:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.mean([average_precision_score(targets[:, j], scores[:, j]) for j in with_positive]))


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(multilabel_batches(tie_free=True))
def test_map_equals_the_mean_of_sklearn_ap_over_labels_with_a_positive(batch):
    scores, targets = batch
    assert_close(mean_average_precision(scores, targets), sklearn_map(scores.numpy(), targets.numpy()))


def test_labels_without_a_positive_are_left_out_where_sklearn_macro_counts_them_as_zero():
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]])
    targets = torch.tensor([[1, 0], [0, 0], [1, 0]])
    assert_close(mean_average_precision(scores, targets), 5 / 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert average_precision_score(targets.numpy(), scores.numpy(), average="macro") == pytest.approx(5 / 12)


@pytest.mark.parametrize("mode", MODES)
def test_map_is_the_mean_of_the_per_label_ap_of_ap_py(mode):
    generator = torch.Generator().manual_seed(0)
    scores, targets = torch.randn(9, 3, generator=generator), torch.randint(0, 2, (9, 3), generator=generator)
    targets[0] = 1
    expected = torch.stack([average_precision(scores[:, j], targets[:, j], mode=mode) for j in range(3)]).mean()
    assert mean_average_precision(scores, targets, mode=mode) == expected


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        pytest.param([[0, 0], [0, 0]], 0.0, id="no-positive"),
        pytest.param([[1, 1], [1, 1]], 1.0, id="no-negative"),
        pytest.param([[1, 0], [1, 0]], 1.0, id="one-label-all-positive-other-none"),
    ],
)
def test_map_edge_cases_follow_the_documented_convention(targets, expected):
    assert_close(mean_average_precision(torch.tensor([[0.3, -1.0], [2.0, 0.5]]), torch.tensor(targets)), expected)


# --- refactoring identity -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(multilabel_batches())
def test_evaluate_of_hard_step_equals_functional_map_with_ties(batch):
    scores, targets = batch
    for mode in MODES:
        metric = MeanAveragePrecision(num_labels=scores.shape[1], mode=mode)
        assert exact_from_hard_step(metric, scores, targets) == mean_average_precision(
            scores, targets, mode=mode, ties="pessimistic"
        )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("num", "labels"), [(1, 1), (6, 3), (12, 5)])
def test_map_row_counts_give_the_same_value_as_dense_configurations(mode, num, labels):
    generator = torch.Generator().manual_seed(num)
    scores, targets = (
        torch.randn(num, labels, generator=generator),
        torch.randint(0, 2, (num, labels), generator=generator),
    )
    metric = MeanAveragePrecision(num_labels=labels, mode=mode)
    assert_counts_equal_dense(metric, metric.comparisons(scores, targets))


def test_layout_has_a_row_per_positive_and_a_column_per_negative_of_its_label():
    targets = torch.tensor([[1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    comparisons = MeanAveragePrecision(num_labels=3).comparisons(torch.zeros(4, 3), targets)
    assert comparisons.shape == (4, 3)
    assert comparisons.mask.sum(1).tolist() == [2, 2, 3, 3]


# --- gradients ------------------------------------------------------------------------------------------


@pytest.mark.grad
@pytest.mark.parametrize("mode", MODES)
def test_map_loss_passes_gradcheck(mode):
    scores = 0.5 * torch.randperm(12, generator=torch.Generator().manual_seed(0)).double().view(4, 3)
    targets = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    assert_gradcheck(MeanAveragePrecision(num_labels=3, mode=mode), scores, targets)


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize(
    ("scores", "targets", "temperature"),
    [
        pytest.param([[0.3, -1.2], [2.0, 0.1]], [[0, 0], [0, 0]], 1.0, id="no-positive"),
        pytest.param([[0.3, -1.2], [2.0, 0.1]], [[1, 1], [1, 1]], 1.0, id="no-negative"),
        pytest.param([[0.3, -1.2]], [[1, 0]], 1.0, id="one-example"),
        pytest.param([[0.0, 0.0], [0.0, 0.0]], [[1, 0], [0, 1]], 1.0, id="all-scores-equal"),
        pytest.param([[1e4, -1e4], [-1e4, 1e4]], [[1, 1], [0, 0]], 0.01, id="saturated"),
    ],
)
def test_map_grads_are_finite_on_degenerate_batches(dtype, scores, targets, temperature):
    metric = MeanAveragePrecision(num_labels=2)
    assert_finite_loss_and_grad(
        metric, torch.tensor(scores, dtype=dtype), torch.tensor(targets), temperature=temperature
    )
