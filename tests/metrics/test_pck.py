"""PCK: oracle (NumPy loop), refactoring identity, gradients and limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

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
from uniloss.anchors import PaperAnchors
from uniloss.exact import pck
from uniloss.metrics import PCK

THRESHOLDS = [0.25, 0.5, 1.0, 100.0]  # 100: the radius covers the whole heatmap


def numpy_pck(heatmaps, joints, visible, head_size, threshold: float) -> float:
    """PCK written out joint by joint and pixel by pixel (pixel (x, y) has its centre at integer (x, y))."""
    heatmaps, joints = np.asarray(heatmaps, dtype=np.float64), np.asarray(joints, dtype=np.float64)
    visible, head_size = np.asarray(visible, dtype=bool), np.asarray(head_size, dtype=np.float64)
    num, num_joints, height, width = heatmaps.shape
    right, counted = 0, 0
    for n in range(num):
        radius = threshold * head_size[n]
        for j in range(num_joints):
            if not visible[n, j]:
                continue
            counted += 1
            jx, jy = joints[n, j]
            best_in, best_out = -np.inf, -np.inf
            for y in range(height):
                for x in range(width):
                    value = heatmaps[n, j, y, x]
                    if (x - jx) ** 2 + (y - jy) ** 2 <= radius**2:
                        best_in = max(best_in, value)
                    else:
                        best_out = max(best_out, value)
            has_positive = best_in > -np.inf
            right += int(has_positive and best_in > best_out)
    return right / counted if counted else 0.0


@st.composite
def pck_batches(draw, values=None):
    """``(heatmaps, joints, visible, head_size, threshold)`` with joints on a quarter-pixel grid.

    Joints, head sizes and thresholds are exact binary fractions, so a pixel on the radius is decided the
    same way in float32 and in the float64 oracle (and the inclusive boundary is exercised).
    """
    values = st.one_of(tied_values, spread_values) if values is None else values
    num, num_joints = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    size = num * num_joints * height * width
    heatmaps = draw(st.lists(values, min_size=size, max_size=size))
    coordinate = st.integers(-4, 4 * (max(height, width) + 1)).map(lambda v: v / 4)
    joints = draw(st.lists(st.tuples(coordinate, coordinate), min_size=num * num_joints, max_size=num * num_joints))
    visible = draw(st.lists(st.booleans(), min_size=num * num_joints, max_size=num * num_joints))
    head_size = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.0]), min_size=num, max_size=num))
    threshold = draw(st.sampled_from(THRESHOLDS))
    return (
        torch.tensor(heatmaps, dtype=torch.float32).view(num, num_joints, height, width),
        torch.tensor(joints, dtype=torch.float32).view(num, num_joints, 2),
        torch.tensor(visible).view(num, num_joints),
        torch.tensor(head_size, dtype=torch.float32),
        threshold,
    )


def peaked_heatmaps(num: int, num_joints: int, size: int, peaks) -> torch.Tensor:
    """Zero heatmaps with a 1 at each ``(n, j, y, x)`` of ``peaks``."""
    heatmaps = torch.zeros(num, num_joints, size, size)
    for n, j, y, x in peaks:
        heatmaps[n, j, y, x] = 1.0
    return heatmaps


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(pck_batches())
def test_pck_equals_numpy_loop(batch):
    heatmaps, joints, visible, head_size, threshold = batch
    expected = numpy_pck(heatmaps.numpy(), joints.numpy(), visible.numpy(), head_size.numpy(), threshold)
    # the oracle's strict `best_in > best_out` is the refactoring's tie rule (a tied peak is wrong)
    assert_close(pck(heatmaps, joints, visible, head_size, threshold=threshold, ties="pessimistic"), expected)


@pytest.mark.parametrize(
    ("peak", "joint", "head", "expected"),
    [
        pytest.param((2, 3), (3.0, 2.0), 2.0, 1.0, id="peak-on-joint"),
        pytest.param((2, 4), (3.0, 2.0), 2.0, 1.0, id="peak-on-the-radius-counts-as-inside"),
        pytest.param((2, 5), (3.0, 2.0), 2.0, 0.0, id="peak-just-outside"),
        pytest.param((3, 3), (3.0, 2.0), 2.0, 1.0, id="x-is-the-column-and-y-the-row"),
        pytest.param((2, 3), (3.5, 2.5), 0.5, 0.0, id="radius-without-pixel-centre-is-wrong"),
        pytest.param((7, 7), (3.0, 2.0), 100.0, 1.0, id="radius-covering-the-heatmap-is-right"),
    ],
)
def test_pck_edge_cases_follow_the_documented_definition(peak, joint, head, expected):
    heatmaps = peaked_heatmaps(1, 1, 8, [(0, 0, *peak)])
    value = pck(heatmaps, torch.tensor([[joint]]), torch.tensor([[True]]), torch.tensor([head]))
    assert_close(value, expected)
    assert_close(value, numpy_pck(heatmaps, [[joint]], [[True]], [head], 0.5))


def test_pck_counts_a_tie_between_inside_and_outside_as_wrong():
    heatmaps = peaked_heatmaps(1, 1, 8, [(0, 0, 2, 3), (0, 0, 7, 7)])
    assert (
        pck(heatmaps, torch.tensor([[[3.0, 2.0]]]), torch.tensor([[True]]), torch.tensor([2.0]), ties="pessimistic")
        == 0
    )


def test_pck_averages_over_visible_joints_only_and_is_zero_without_any():
    heatmaps = peaked_heatmaps(1, 3, 8, [(0, 0, 2, 3), (0, 1, 7, 7), (0, 2, 7, 7)])
    joints = torch.tensor([[[3.0, 2.0], [1.0, 1.0], [1.0, 1.0]]])
    head = torch.tensor([2.0])
    assert_close(pck(heatmaps, joints, torch.tensor([[True, True, False]]), head), 0.5)
    assert_close(pck(heatmaps, joints, torch.tensor([[1, 0, 0]]), head), 1.0)
    assert pck(heatmaps, joints, torch.zeros(1, 3, dtype=torch.bool), head) == 0


def test_pck_validate_args_false_gives_the_same_value():
    heatmaps = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    joints, visible, head = torch.full((2, 3, 2), 2.5), torch.ones(2, 3, dtype=torch.bool), torch.tensor([2.0, 4.0])
    assert pck(heatmaps, joints, visible, head, validate_args=False) == pck(heatmaps, joints, visible, head)


# --- refactoring identity -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(pck_batches())
def test_evaluate_of_hard_step_equals_functional_pck(batch):
    heatmaps, joints, visible, head_size, threshold = batch
    metric = PCK(threshold=threshold)
    expected = pck(heatmaps, joints, visible, head_size, threshold=threshold, ties="pessimistic")
    assert exact_from_hard_step(metric, heatmaps, joints, visible, head_size) == expected


@pytest.mark.parametrize(
    ("visible", "threshold", "value"),
    [
        pytest.param([[False, False]], 0.5, None, id="no-visible-joint"),
        pytest.param([[True, False]], 0.5, None, id="one-invisible-joint"),
        pytest.param([[True, True]], 100.0, None, id="radius-covers-heatmap"),
        pytest.param([[True, True]], 0.5, 0.0, id="all-pixels-equal"),
        pytest.param([[True, True]], 0.1, None, id="radius-without-pixel-centre"),
    ],
)
def test_evaluate_of_hard_step_equals_functional_pck_on_edge_cases(visible, threshold, value):
    generator = torch.Generator().manual_seed(0)
    heatmaps = torch.randn(1, 2, 5, 5, generator=generator) if value is None else torch.full((1, 2, 5, 5), value)
    joints, head = torch.tensor([[[2.0, 2.0], [1.5, 3.5]]]), torch.tensor([2.0])
    metric, visible = PCK(threshold=threshold), torch.tensor(visible)
    expected = pck(heatmaps, joints, visible, head, threshold=threshold, ties="pessimistic")
    assert exact_from_hard_step(metric, heatmaps, joints, visible, head) == expected


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_pck_row_counts_give_the_same_value_as_dense_configurations(threshold, seed):
    generator = torch.Generator().manual_seed(seed)
    heatmaps = torch.randn(2, 3, 5, 6, generator=generator)
    joints = torch.rand(2, 3, 2, generator=generator) * 6 - 0.5
    visible = torch.rand(2, 3, generator=generator) < 0.7
    head = 1 + 3 * torch.rand(2, generator=generator)
    metric = PCK(threshold=threshold)
    assert_counts_equal_dense(metric, metric.comparisons(heatmaps, joints, visible, head))


def test_pck_of_configurations_ignores_padding_and_needs_one_clean_row_per_joint():
    # One joint, radius 0.5 around (0, 0) of a 1x3 heatmap: one positive pixel (row), two negatives.
    metric = PCK(threshold=0.25)
    comparisons = metric.comparisons(
        torch.zeros(1, 1, 1, 3), torch.tensor([[[0.0, 0.0]]]), torch.tensor([[True]]), torch.tensor([2.0])
    )
    assert comparisons.shape == (1, 3)
    padding_wrong = torch.tensor([[[-1.0, 1.0, 1.0]]])  # entry 0 is the pixel against itself: padding
    negative_wrong = torch.tensor([[[1.0, 1.0, -1.0]]])
    assert_close(metric.evaluate(torch.cat([padding_wrong, negative_wrong]), comparisons), [1.0, 0.0])


# --- gradients ------------------------------------------------------------------------------------------

JOINTS = torch.tensor([[[2.0, 2.0], [1.0, 3.0]]], dtype=torch.float64)
HEAD = torch.tensor([2.0], dtype=torch.float64)


def spaced_heatmaps(seed: int) -> torch.Tensor:
    """``(1, 2, 5, 5)`` distinct values at least 0.1 apart (no comparison changes sign under gradcheck)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(50, generator=generator).double().view(1, 2, 5, 5)
    return 0.1 * (order - 25) + 0.01 * torch.rand(1, 2, 5, 5, generator=generator, dtype=torch.float64)


@pytest.mark.grad
@pytest.mark.parametrize(
    ("visible", "threshold"), [([[True, True]], 0.5), ([[True, False]], 0.5), ([[True, True]], 0.8)]
)
@pytest.mark.parametrize("seed", [0, 1])
def test_pck_loss_passes_gradcheck(visible, threshold, seed):
    assert_gradcheck(PCK(threshold=threshold), spaced_heatmaps(seed), JOINTS, torch.tensor(visible), HEAD)


def saturated_heatmaps(right: bool) -> torch.Tensor:
    """-1e4 everywhere but one +1e4 peak per joint: on the joint if ``right``, far from it otherwise."""
    heatmaps = torch.full((1, 2, 5, 5), -1e4)
    heatmaps[0, 0, 2, 2] = heatmaps[0, 1, 3, 1] = 1e4
    return heatmaps if right else heatmaps.flip(-1, -2)


_RNG = torch.Generator().manual_seed(0)
DEGENERATE_PCK = [
    pytest.param(torch.zeros(1, 2, 5, 5), [[True, True]], 0.5, 1.0, id="all-scores-equal"),
    pytest.param(torch.randn(1, 2, 5, 5, generator=_RNG), [[False, False]], 0.5, 1.0, id="no-visible-joint"),
    pytest.param(torch.randn(1, 2, 5, 5, generator=_RNG), [[True, True]], 100.0, 1.0, id="radius-covers-heatmap"),
    pytest.param(torch.randn(1, 2, 5, 5, generator=_RNG), [[True, True]], 0.1, 1.0, id="radius-without-pixel-centre"),
    pytest.param(torch.randn(1, 1, 1, 1, generator=_RNG), [[True]], 0.5, 1.0, id="one-pixel"),
    pytest.param(saturated_heatmaps(right=True), [[True, True]], 0.5, 0.01, id="saturated-right"),
    pytest.param(saturated_heatmaps(right=False), [[True, True]], 0.5, 0.01, id="saturated-wrong"),
]


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize(("heatmaps", "visible", "threshold", "temperature"), DEGENERATE_PCK)
def test_pck_grads_are_finite_on_degenerate_batches(dtype, heatmaps, visible, threshold, temperature):
    joints, head = JOINTS[:, : heatmaps.shape[1]], HEAD
    if heatmaps.shape[-1] == 1:
        joints = torch.zeros(1, 1, 2)
    metric = PCK(threshold=threshold)
    assert_finite_loss_and_grad(
        metric, heatmaps.to(dtype), joints, torch.tensor(visible), head, temperature=temperature
    )


def test_loss_of_a_batch_whose_every_anchor_is_perfect_is_exactly_zero():
    # The radius covers the heatmap: every pixel is positive, every anchor has PCK 1.
    heatmaps = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    joints, visible, head = torch.full((1, 2, 2), 2.0), torch.tensor([[True, True]]), torch.tensor([2.0])
    anchors = PaperAnchors(good=9, nearby=0, bad=0)
    loss = seeded_loss(PCK(threshold=100.0), joints, visible, head, anchors=anchors)(heatmaps)
    assert loss == 0


def test_pck_loss_at_a_saturated_anchor_is_the_exact_loss():
    # Only the peak pixel is positive (radius 0.5) and beats every other pixel by 2e4: b~ is exactly +1 in
    # float32, the relaxed point is the ground-truth anchor and the loss is 0.
    heatmaps = saturated_heatmaps(right=True)
    joints, visible, head = torch.tensor([[[2.0, 2.0], [1.0, 3.0]]]), torch.tensor([[True, True]]), torch.tensor([1.0])
    metric = PCK(threshold=0.5)
    comparisons = metric.comparisons(heatmaps, joints, visible, head)
    relaxed = uniloss.Sigmoid(0.01)(comparisons.values)[comparisons.mask]
    assert (relaxed == 1).all()
    loss, grad = assert_finite_loss_and_grad(metric, heatmaps, joints, visible, head, temperature=0.01)
    assert_close(loss, 0.0)
    assert (grad == 0).all()


# --- limit ----------------------------------------------------------------------------------------------


@st.composite
def tie_free_pck_batches(draw):
    """Heatmaps a permutation of 0..N*J*H*W-1 (comparisons at least 1 apart), random joints and visibility."""
    num_joints, size = draw(st.integers(1, 2)), draw(st.integers(2, 5))
    order = draw(st.permutations(range(num_joints * size * size)))
    coordinate = st.integers(-2, 2 * size).map(lambda v: v / 2)
    joints = draw(st.lists(st.tuples(coordinate, coordinate), min_size=num_joints, max_size=num_joints))
    visible = draw(st.lists(st.booleans(), min_size=num_joints, max_size=num_joints))
    threshold = draw(st.sampled_from(THRESHOLDS))
    return (
        torch.tensor(order, dtype=torch.float64).view(1, num_joints, size, size),
        torch.tensor(joints, dtype=torch.float64).view(1, num_joints, 2),
        torch.tensor(visible).view(1, num_joints),
        torch.tensor([2.0], dtype=torch.float64),
        threshold,
    )


@IGNORE_NO_COMPARISON_WARNING
@SLOW_PROPERTY_SETTINGS
@given(tie_free_pck_batches())
def test_pck_loss_tends_to_one_minus_exact_pck_as_temperature_vanishes(batch):
    heatmaps, joints, visible, head, threshold = batch
    metric = PCK(threshold=threshold)
    loss = seeded_loss(metric, joints, visible, head, temperature=1e-4, anchors=limit_anchors())(heatmaps)
    expected = 1 - pck(heatmaps, joints, visible, head, threshold=threshold).double()
    assert_close(loss, expected, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pck_loss_differs_from_exact_loss_at_temperature_one(seed):
    heatmaps = spaced_heatmaps(seed)
    visible = torch.tensor([[True, True]])
    metric = PCK()
    loss = seeded_loss(metric, JOINTS, visible, HEAD, temperature=1.0, anchors=limit_anchors())(heatmaps)
    gap = abs(float(loss) - (1 - float(pck(heatmaps, JOINTS, visible, HEAD))))
    assert gap > 100 * TOLERANCES[torch.float64].atol
