"""IoU and Dice of segmentation masks: oracles (scikit-learn on the pixels), tie and ignore conventions, the
refactoring identity, gradients and degenerate batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import f1_score, jaccard_score

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
from uniloss.metrics import Dice, IoU
from uniloss.metrics.dice import dice
from uniloss.metrics.iou import iou

METRICS = {"iou": (IoU, iou, jaccard_score), "dice": (Dice, dice, f1_score)}
per_metric = pytest.mark.parametrize("name", list(METRICS))


@st.composite
def mask_batches(draw, tie_free: bool = False):
    """``(scores, targets, num_classes, ignore_index)``: binary ``(N, H, W)`` or ``(N, C, H, W)`` logits."""
    num, height, width = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    classes = draw(st.one_of(st.none(), st.integers(2, 4)))
    shape = (num, height, width) if classes is None else (num, classes, height, width)
    size = int(np.prod(shape))
    values = spread_values if tie_free else st.one_of(tied_values, spread_values)
    scores = draw(st.lists(values, min_size=size, max_size=size, unique=tie_free))
    if tie_free and classes is None:
        assume(0.0 not in scores)  # no score at the threshold
    scores = torch.tensor(scores).view(shape)
    ignore_index = draw(st.sampled_from([None, 255, 0]))
    targets = st.sampled_from(list(range(classes or 2)) + ([] if ignore_index is None else [ignore_index]))
    targets = torch.tensor(draw(st.lists(targets, min_size=num * height * width, max_size=num * height * width)))
    return scores.float(), targets.view(num, height, width), classes, ignore_index


def sklearn_score(name, scores, targets, ignore_index) -> float:
    """scikit-learn's score of the kept pixels: thresholded at 0 (binary) or of the argmax (macro)."""
    predictions = (scores > 0).long() if scores.ndim == 3 else scores.argmax(1)
    kept = torch.ones_like(targets, dtype=torch.bool) if ignore_index is None else targets != ignore_index
    y_true, y_pred = targets[kept].numpy(), predictions[kept].numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        average = "binary" if scores.ndim == 3 else "macro"
        return float(METRICS[name][2](y_true, y_pred, average=average, zero_division=0)) if y_true.size else 0.0


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(mask_batches(tie_free=True))
def test_iou_and_dice_equal_sklearn_on_the_kept_pixels(batch):
    scores, targets, _, ignore_index = batch
    for name, (_, functional, _) in METRICS.items():
        value = functional(scores, targets, ignore_index=ignore_index)
        assert_close(value, sklearn_score(name, scores, targets, ignore_index), msg=name)


def test_binary_dice_is_two_iou_over_one_plus_iou():
    generator = torch.Generator().manual_seed(0)
    scores, targets = torch.randn(2, 5, 5, generator=generator), torch.randint(0, 2, (2, 5, 5), generator=generator)
    value = iou(scores, targets)
    assert_close(dice(scores, targets), 2 * value / (1 + value))


def test_a_tie_for_the_top_score_is_wrong_for_the_true_class_and_a_false_positive_of_the_others():
    # One pixel, classes 0 and 1 tied for the top, true class 0: FN of class 0, FP of class 1.
    scores, targets = torch.tensor([[[[1.0]], [[1.0]], [[0.0]]]]), torch.tensor([[[0]]])
    assert iou(scores, targets, ties="pessimistic") == 0
    assert jaccard_score([0], [scores.argmax(1).item()], average="macro") == 1.0  # argmax picks class 0


def test_a_pixel_at_the_threshold_is_wrong_for_either_label():
    scores, targets = torch.tensor([[[0.0, 0.0, 1.0]]]), torch.tensor([[[1, 0, 1]]])
    assert_close(iou(scores, targets, ties="pessimistic"), 1 / 3)  # TP 1, FN 1 and FP 1 at the threshold


@per_metric
def test_empty_masks_give_zero_as_sklearn_zero_division_zero(name):
    functional = METRICS[name][1]
    assert functional(-torch.ones(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)) == 0
    assert functional(torch.ones(1, 2, 2), torch.full((1, 2, 2), 7), ignore_index=7) == 0  # every pixel ignored


@per_metric
def test_ignored_pixels_change_nothing(name):
    generator = torch.Generator().manual_seed(0)
    scores, targets = torch.randn(1, 3, 2, 4, generator=generator), torch.randint(0, 3, (1, 2, 4), generator=generator)
    functional = METRICS[name][1]
    masked = targets.clone()
    masked[0, 1] = 255
    assert functional(scores, masked, ignore_index=255) == functional(scores[..., :1, :], targets[:, :1])


# --- refactoring identity -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(mask_batches())
def test_evaluate_of_hard_step_equals_the_functionals_with_ties(batch):
    scores, targets, classes, ignore_index = batch
    for metric_class, functional, _ in METRICS.values():
        metric = metric_class(num_classes=classes, ignore_index=ignore_index)
        assert exact_from_hard_step(metric, scores, targets) == functional(
            scores, targets, ignore_index=ignore_index, ties="pessimistic"
        )


@per_metric
@pytest.mark.parametrize("classes", [None, 2, 4])
def test_row_counts_give_the_same_value_as_dense_configurations_and_stay_in_unit_interval(name, classes):
    generator = torch.Generator().manual_seed(0)
    shape = (2, 6, 7) if classes is None else (2, classes, 6, 7)
    scores, targets = (
        torch.randn(shape, generator=generator),
        torch.randint(0, classes or 2, (2, 6, 7), generator=generator),
    )
    metric = METRICS[name][0](num_classes=classes)
    comparisons = metric.comparisons(scores, targets)
    assert_counts_equal_dense(metric, comparisons)
    values = metric.evaluate(random_configurations(comparisons, 32), comparisons)
    assert (values >= 0).all()
    assert (values <= metric.evaluate(torch.ones(1, *comparisons.shape), comparisons)).all()


def test_multiclass_layout_has_one_binary_per_pixel_and_class_against_the_strongest_other_class():
    scores = torch.tensor([[[[3.0]], [[1.0]], [[2.0]]]])  # one pixel, 3 classes
    comparisons = IoU(num_classes=3).comparisons(scores, torch.tensor([[[2]]]))
    # class 0 (argmax, not true): -(3 - 2); class 1: -(1 - 3); class 2 (true): 2 - 3
    assert sorted(comparisons.values[comparisons.mask].tolist()) == [-1.0, -1.0, 2.0]


# --- gradients ------------------------------------------------------------------------------------------


@pytest.mark.grad
@per_metric
@pytest.mark.parametrize("classes", [None, 3])
def test_loss_passes_gradcheck(name, classes):
    shape = (2, 2, 3) if classes is None else (1, classes, 2, 3)
    scores = 0.3 * (torch.randperm(int(np.prod(shape)), generator=torch.Generator().manual_seed(0)).double() - 8.5)
    targets = torch.tensor([[[1, 0, 2], [0, 255, 1]]]).expand(shape[0], 2, 3)
    targets = targets.clamp_max(1) if classes is None else targets
    metric = METRICS[name][0](num_classes=classes, ignore_index=255)
    assert_gradcheck(metric, scores.view(shape), targets)


DEGENERATE = [
    pytest.param(None, "zeros", 1.0, id="binary-no-positive"),
    pytest.param(None, "ones", 1.0, id="binary-all-positive"),
    pytest.param(None, "equal", 1.0, id="binary-all-scores-equal"),
    pytest.param(None, "ignored", 1.0, id="binary-all-ignored"),
    pytest.param(3, "zeros", 1.0, id="multiclass-one-class-present"),
    pytest.param(3, "equal", 1.0, id="multiclass-all-scores-equal"),
    pytest.param(3, "saturated", 0.01, id="multiclass-saturated"),
]


@IGNORE_NO_COMPARISON_WARNING
@per_metric
@pytest.mark.parametrize(("classes", "kind", "temperature"), DEGENERATE)
def test_grads_are_finite_on_degenerate_batches(dtype, name, classes, kind, temperature):
    generator = torch.Generator().manual_seed(0)
    shape = (1, 3, 3) if classes is None else (1, classes, 3, 3)
    scores = torch.randn(shape, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, classes or 2, (1, 3, 3), generator=generator)
    if kind == "equal":
        scores = torch.zeros(shape, dtype=torch.float64)
    elif kind == "saturated":
        scores = 1e4 * scores.sign()
    elif kind in ("zeros", "ones"):
        targets = torch.full_like(targets, int(kind == "ones"))
    elif kind == "ignored":
        targets = torch.full_like(targets, 255)
    metric = METRICS[name][0](num_classes=classes, ignore_index=255)
    assert_finite_loss_and_grad(metric, scores.to(dtype), targets, temperature=temperature)
