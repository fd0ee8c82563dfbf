"""F-beta, F1, precision, recall and balanced accuracy at a threshold: scikit-learn oracles, the tie and
zero-division conventions, the refactoring identity, the grouped layout, gradients and degenerate batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, f1_score, fbeta_score, precision_score, recall_score

import uniloss
from tests._helpers.losses import (
    IGNORE_NO_COMPARISON_WARNING,
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
    random_configurations,
)
from tests._helpers.properties import PROPERTY_SETTINGS, spread_values, tied_values
from tests._helpers.tolerances import assert_close
from uniloss.metrics import F1, BalancedAccuracy, FBeta, Precision, Recall
from uniloss.metrics.balanced_accuracy import balanced_accuracy
from uniloss.metrics.fbeta import f1, fbeta
from uniloss.metrics.precision import precision
from uniloss.metrics.recall import recall


def _sk_balanced_accuracy(y_true, y_pred, average):
    if y_true.ndim == 1 or average == "micro":
        return balanced_accuracy_score(y_true.ravel(), y_pred.ravel())
    return float(np.mean([balanced_accuracy_score(y_true[:, j], y_pred[:, j]) for j in range(y_true.shape[1])]))


# name -> (class, functional, scikit-learn score of (y_true, y_pred, average))
METRICS = {
    "fbeta": (
        lambda **kw: FBeta(beta=0.5, **kw),
        lambda s, t, **kw: fbeta(s, t, beta=0.5, **kw),
        lambda y, p, average: fbeta_score(y, p, beta=0.5, average=average, zero_division=0),
    ),
    "f1": (F1, f1, lambda y, p, average: f1_score(y, p, average=average, zero_division=0)),
    "precision": (Precision, precision, lambda y, p, average: precision_score(y, p, average=average, zero_division=0)),
    "recall": (Recall, recall, lambda y, p, average: recall_score(y, p, average=average, zero_division=0)),
    "balanced_accuracy": (BalancedAccuracy, balanced_accuracy, _sk_balanced_accuracy),
}
per_metric = pytest.mark.parametrize("name", list(METRICS))


@st.composite
def label_batches(draw, tie_free: bool = False):
    """``(scores, targets, threshold, num_labels)``: binary ``(N,)`` or multi-label ``(N, L)``."""
    num = draw(st.integers(1, 8))
    labels = draw(st.one_of(st.none(), st.integers(1, 4)))
    shape = (num,) if labels is None else (num, labels)
    size = int(np.prod(shape))
    threshold = draw(st.sampled_from([0.0, 0.5, -1.0]))
    values = spread_values if tie_free else st.one_of(tied_values, spread_values)
    scores = draw(st.lists(values, min_size=size, max_size=size))
    if tie_free:
        assume(threshold not in scores)
    targets = draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
    scores = torch.tensor(scores, dtype=torch.float32).view(shape)
    return scores, torch.tensor(targets).view(shape), threshold, labels


def _sklearn(name, scores, targets, threshold, average):
    y_true, y_pred = targets.numpy(), (scores > threshold).long().numpy()
    if y_true.ndim == 2 and y_true.shape[1] == 1:  # scikit-learn reads one column as binary input
        y_true, y_pred = y_true.ravel(), y_pred.ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one class only in y_true (balanced accuracy)
        return METRICS[name][2](
            y_true, y_pred, "binary" if y_true.ndim == 1 and name != "balanced_accuracy" else average
        )


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(batch=label_batches(tie_free=True))
def test_metrics_equal_sklearn_when_no_score_is_at_the_threshold(batch):
    scores, targets, threshold, _ = batch
    for name, (_, functional, _) in METRICS.items():
        for average in ("macro", "micro"):
            value = functional(scores, targets, threshold=threshold, average=average)
            assert_close(value, _sklearn(name, scores, targets, threshold, average), msg=f"{name} {average}")


@per_metric
@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize(
    ("scores", "targets"),
    [
        pytest.param([-1.0, -2.0], [0, 0], id="no-positive-no-predicted-positive"),
        pytest.param([1.0, 2.0], [0, 0], id="no-positive"),
        pytest.param([1.0, 2.0], [1, 1], id="all-positive"),
        pytest.param([-1.0, -2.0], [1, 1], id="no-predicted-positive"),
        pytest.param([[1.0, -1.0], [-2.0, -3.0]], [[1, 0], [0, 0]], id="multilabel-label-without-positive"),
        pytest.param([[1.0, -1.0], [2.0, -3.0]], [[1, 1], [1, 0]], id="multilabel-mixed"),
    ],
)
def test_zero_denominators_give_zero_as_sklearn_zero_division_zero(name, average, scores, targets):
    scores, targets = torch.tensor(scores), torch.tensor(targets)
    value = METRICS[name][1](scores, targets, average=average)
    assert_close(value, _sklearn(name, scores, targets, 0.0, average))


def test_a_score_at_the_threshold_is_predicted_negative_by_default_and_wrong_for_either_label_when_pessimistic():
    scores, targets = torch.tensor([0.0, 0.0, 2.0, -2.0]), torch.tensor([1, 0, 1, 0])
    # Pessimistic: a positive at the threshold is a false negative, a negative there a false positive.
    assert_close(precision(scores, targets, ties="pessimistic"), 1 / 2)  # TP 1, FP 1 (the negative at 0)
    assert_close(recall(scores, targets, ties="pessimistic"), 1 / 2)  # TP 1, FN 1 (the positive at 0)
    assert_close(f1(scores, targets, ties="pessimistic"), 1 / 2)
    assert_close(balanced_accuracy(scores, targets, ties="pessimistic"), (1 / 2 + 1 / 2) / 2)
    # Standard: predictions scores > 0, as scikit-learn on those predictions and torchmetrics.
    y_pred = (scores > 0).long().numpy()
    assert_close(precision(scores, targets), precision_score(targets.numpy(), y_pred))
    assert_close(balanced_accuracy(scores, targets), balanced_accuracy_score(targets.numpy(), y_pred))
    assert_close(recall(scores, targets), recall_score(targets.numpy(), y_pred))
    assert_close(f1(scores, targets), f1_score(targets.numpy(), y_pred))
    assert precision_score(targets.numpy(), y_pred) == 1.0


def test_sklearn_balanced_accuracy_does_not_take_multilabel_input():
    targets = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="multilabel"):
        balanced_accuracy_score(targets, targets)
    assert_close(balanced_accuracy(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]), torch.tensor(targets)), 1.0)


def test_fbeta_with_beta_one_is_f1_and_weights_recall_by_beta():
    scores, targets = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.2]), torch.tensor([1, 1, 0, 0, 1, 0])
    assert fbeta(scores, targets, beta=1.0) == f1(scores, targets)
    assert_close(fbeta(scores, targets, beta=2.0), 5 * 2 / (5 * 2 + 4 * 1 + 2))  # TP 2, FN 1, FP 2
    assert_close(fbeta(scores, targets, beta=0.5), 1.25 * 2 / (1.25 * 2 + 0.25 * 1 + 2))


def test_bool_targets_and_validate_args_false_give_the_same_value():
    scores, targets = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), torch.eye(6, 3).long()
    for _, functional, _ in METRICS.values():
        expected = functional(scores, targets)
        assert functional(scores, targets.bool()) == expected
        assert functional(scores, targets, validate_args=False) == expected


# --- refactoring identity and layout --------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(batch=label_batches())
def test_evaluate_of_hard_step_equals_the_functionals_with_ties(batch):
    scores, targets, threshold, labels = batch
    for metric_class, functional, _ in METRICS.values():
        for average in ("macro", "micro"):
            metric = metric_class(threshold=threshold, num_labels=labels, average=average)
            expected = functional(scores, targets, threshold=threshold, average=average, ties="pessimistic")
            assert exact_from_hard_step(metric, scores, targets) == expected, f"{metric}"


@per_metric
@pytest.mark.parametrize(("num", "labels"), [(1, None), (7, None), (5, 3), (2100, None)])
def test_row_counts_give_the_same_value_as_dense_configurations(name, num, labels):
    generator = torch.Generator().manual_seed(num)
    shape = (num,) if labels is None else (num, labels)
    metric = METRICS[name][0](num_labels=labels)
    comparisons = metric.comparisons(
        torch.randn(shape, generator=generator), torch.randint(0, 2, shape, generator=generator)
    )
    assert_counts_equal_dense(metric, comparisons)


@per_metric
def test_values_stay_in_unit_interval_and_ground_truth_is_best_on_random_configurations(name):
    generator = torch.Generator().manual_seed(0)
    metric = METRICS[name][0](num_labels=3)
    c = metric.comparisons(torch.randn(9, 3, generator=generator), torch.randint(0, 2, (9, 3), generator=generator))
    values = metric.evaluate(random_configurations(c, 64), c)
    assert (values >= 0).all()
    assert (values <= 1).all()
    assert metric.evaluate(torch.ones(1, *c.shape), c) >= values.max()


def test_layout_puts_positives_and_negatives_of_a_label_in_separate_rows_of_at_most_1024():
    generator = torch.Generator().manual_seed(0)
    targets = torch.zeros(3000, 2, dtype=torch.long)
    targets[:1500, 0] = 1
    c = F1(num_labels=2).comparisons(torch.randn(3000, 2, generator=generator), targets)
    assert c.shape == (2 + 2 + 3, 1024)  # label 0: 1500 + 1500, label 1: 3000 negatives
    assert int(c.mask.sum()) == 6000
    positive_rows = c.context.row_group % 2 == 1
    assert int(c.mask[positive_rows].sum()) == 1500


def test_layout_holds_the_negatives_then_the_positives_of_each_label_in_example_order():
    scores = torch.arange(10.0).view(5, 2)
    targets = torch.tensor([[1, 0], [0, 0], [1, 0], [1, 1], [0, 0]])
    c = F1(threshold=0.5, num_labels=2).comparisons(scores, targets)
    groups = [[0.5 - 2, 0.5 - 8], [0 - 0.5, 4 - 0.5, 6 - 0.5], [0.5 - 1, 0.5 - 3, 0.5 - 5, 0.5 - 9], [7 - 0.5]]
    expected = [group + [0.0] * (4 - len(group)) for group in groups]  # rows of the largest group, 4
    assert c.values.tolist() == expected
    assert c.mask.sum(1).tolist() == [2, 3, 4, 1]
    assert c.context.row_group.tolist() == [0, 1, 2, 3]
    assert c.context.sizes.tolist() == [2, 3, 4, 1]


def test_autograd_keeps_five_bytes_per_binary_an_int32_index_and_the_targets():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(3000, 2, generator=generator, requires_grad=True)
    targets = (torch.rand(3000, 2, generator=generator) < 0.3).long()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        c = F1(num_labels=2).comparisons(scores, targets)
    large = sorted((t.element_size(), t.numel()) for t in saved if t.numel() > 2 * c.shape[0])
    assert large == [(1, 6000), (4, int(c.mask.sum()))]  # the sign of each binary, its place in the layout


def test_recall_compares_only_the_positives():
    c = Recall().comparisons(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1, 0, 1]))
    assert int(c.mask.sum()) == 2


def test_f1_is_a_registered_fbeta_with_beta_one():
    assert isinstance(F1(), FBeta)
    assert F1().beta == 1.0
    assert uniloss.METRICS["f1"] is F1
    assert uniloss.METRICS["fbeta"] is FBeta


# --- gradients ------------------------------------------------------------------------------------------


def spaced_scores(shape, seed: int) -> torch.Tensor:
    """Distinct scores at least 0.2 apart and 0.1 away from the threshold 0 (no sign change under gradcheck)."""
    generator = torch.Generator().manual_seed(seed)
    size = int(np.prod(shape))
    order = torch.randperm(size, generator=generator).double() - size / 2 + 0.5
    return (0.3 * order).view(shape)


@pytest.mark.grad
@per_metric
@pytest.mark.parametrize("shape", [(8,), (4, 2)], ids=["binary", "multilabel"])
def test_loss_passes_gradcheck(name, shape):
    targets = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0]).view(shape)
    metric = METRICS[name][0](num_labels=None if len(shape) == 1 else shape[1])
    assert_gradcheck(metric, spaced_scores(shape, 0), targets)


DEGENERATE = [
    pytest.param([0.3, -1.2, 2.0, 0.1], [0, 0, 0, 0], 1.0, id="no-positive"),
    pytest.param([0.3, -1.2, 2.0, 0.1], [1, 1, 1, 1], 1.0, id="all-positive"),
    pytest.param([0.3], [1], 1.0, id="one-example"),
    pytest.param([0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0], 1.0, id="all-scores-at-the-threshold"),
    pytest.param([1e4, -1e4, 1e4, -1e4], [1, 0, 0, 1], 0.01, id="saturated"),
]


@IGNORE_NO_COMPARISON_WARNING
@per_metric
@pytest.mark.parametrize(("scores", "targets", "temperature"), DEGENERATE)
def test_grads_are_finite_on_degenerate_batches(dtype, name, scores, targets, temperature):
    metric = METRICS[name][0]()
    assert_finite_loss_and_grad(
        metric, torch.tensor(scores, dtype=dtype), torch.tensor(targets), temperature=temperature
    )
