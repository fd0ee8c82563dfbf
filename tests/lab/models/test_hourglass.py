import pytest
import torch

from uniloss_lab.models import StackedHourglass


def test_hourglass_defaults_give_one_quarter_resolution_heatmap_per_stack():
    heatmaps = StackedHourglass()(torch.randn(2, 3, 64, 64))
    assert isinstance(heatmaps, list)
    assert [tuple(h.shape) for h in heatmaps] == [(2, 16, 16, 16)] * 2
    assert all(h.dtype == torch.float32 for h in heatmaps)


@pytest.mark.parametrize(("stem_stride", "heatmap_size"), [(4, 16), (2, 32), (1, 64)])
def test_hourglass_stem_stride_sets_heatmap_resolution_on_64px_images(stem_stride, heatmap_size):
    model = StackedHourglass(num_joints=5, num_stacks=1, width=8, depth=2, stem_stride=stem_stride)
    (heatmaps,) = model(torch.randn(2, 3, 64, 64))
    assert heatmaps.shape == (2, 5, heatmap_size, heatmap_size)


@pytest.mark.parametrize("num_stacks", [1, 3])
def test_hourglass_returns_one_heatmap_tensor_per_stack(num_stacks):
    model = StackedHourglass(num_joints=2, num_stacks=num_stacks, width=8, depth=2)
    assert len(model(torch.randn(2, 3, 16, 16))) == num_stacks


def test_hourglass_in_eval_mode_accepts_a_single_image_at_the_smallest_size():
    model = StackedHourglass(num_joints=2, num_stacks=1, width=8, depth=2).eval()
    assert model(torch.randn(1, 3, 16, 16))[0].shape == (1, 2, 4, 4)


def test_hourglass_accepts_non_square_inputs_with_divisible_sides():
    model = StackedHourglass(num_joints=3, num_stacks=1, width=8, depth=2)
    assert model(torch.randn(1, 3, 32, 48))[0].shape == (1, 3, 8, 12)


def test_hourglass_in_float64_returns_float64():
    model = StackedHourglass(num_joints=2, num_stacks=1, width=8, depth=1, in_channels=1).double()
    assert model(torch.randn(2, 1, 8, 8, dtype=torch.float64))[0].dtype == torch.float64


@pytest.mark.grad
def test_hourglass_backward_gives_finite_gradients_for_every_parameter(assert_finite_grads):
    model = StackedHourglass(num_joints=4, num_stacks=2, width=32, depth=3)
    heatmaps = model(torch.randn(2, 3, 64, 64))
    sum(h.square().mean() for h in heatmaps).backward()
    assert_finite_grads(model)
