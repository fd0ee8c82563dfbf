import numpy as np
import pytest
import torch

from uniloss_lab.data.keypoints import SyntheticKeypoints
from uniloss_lab.data.mpii import JOINT_NAMES


@pytest.fixture(scope="module")
def dataset():
    return SyntheticKeypoints(300, image_size=64, heatmap_size=32, num_joints=16, sigma=1.0, seed=0)


def test_items_have_the_pose_format():
    image, heatmaps, joints, visible, head_size = SyntheticKeypoints(5, image_size=48, heatmap_size=24)[4]
    assert image.shape == (3, 48, 48)
    assert image.dtype == torch.float32
    assert image.min() >= 0
    assert image.max() <= 1
    assert heatmaps.shape == (8, 24, 24)
    assert heatmaps.dtype == torch.float32
    assert joints.shape == (8, 2)
    assert joints.dtype == torch.float32
    assert visible.shape == (8,)
    assert visible.dtype == torch.bool
    assert head_size.shape == ()
    assert head_size.dtype == torch.float32


def test_same_seed_gives_identical_samples_and_another_seed_different_ones(dataset):
    again = SyntheticKeypoints(300, num_joints=16, seed=0)
    other = SyntheticKeypoints(300, num_joints=16, seed=1)
    for ours, theirs in zip(dataset.tensors, again.tensors, strict=True):
        assert torch.equal(ours, theirs)
    assert not torch.equal(dataset.tensors[2], other.tensors[2])


def test_a_sample_does_not_depend_on_how_many_are_generated(dataset):
    fewer = SyntheticKeypoints(270, num_joints=16, seed=0)
    for ours, theirs in zip(dataset.tensors, fewer.tensors, strict=True):
        assert torch.equal(ours[:270], theirs)


def test_heatmaps_peak_at_visible_joints_and_are_zero_for_hidden_ones(dataset):
    _, heatmaps, joints, visible, _ = dataset.tensors
    ys, xs = np.mgrid[0:32, 0:32]
    for index in range(20):
        for joint in range(16):
            x, y = joints[index, joint].tolist()
            expected = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 2) * bool(visible[index, joint])
            np.testing.assert_allclose(heatmaps[index, joint].numpy(), expected, atol=1e-6)


def test_most_joints_are_visible_and_visible_joints_lie_in_the_frame(dataset):
    _, _, joints, visible, _ = dataset.tensors
    assert 0.75 < visible.float().mean() < 0.99
    inside = ((joints >= -0.5) & (joints < 31.5)).all(-1)
    assert inside[visible].all()
    assert (~inside).any(), "some joints should fall out of frame"
    assert (inside & ~visible).any(), "some joints in the frame should be hidden by an occluder"


def test_head_size_is_six_tenths_of_the_neck_to_head_top_length(dataset):
    _, _, joints, _, head_size = dataset.tensors
    neck, head_top = JOINT_NAMES.index("upper_neck"), JOINT_NAMES.index("head_top")
    torch.testing.assert_close(head_size, 0.6 * (joints[:, head_top] - joints[:, neck]).norm(dim=-1))
    assert (head_size > 1).all()


def test_limbs_are_drawn_through_the_joints(dataset):
    images, _, joints, visible, _ = dataset.tensors
    wrist = JOINT_NAMES.index("right_wrist")
    pixels = ((joints[:, wrist] + 0.5) * 2 - 0.5).round().long().clamp(0, 63)
    colour = images[torch.arange(len(images)), :, pixels[:, 1], pixels[:, 0]]
    reddish = colour[:, 0] > colour[:, 2] + 0.25  # right limbs are drawn red, left ones blue
    assert reddish[visible[:, wrist]].float().mean() > 0.8


def test_num_joints_reports_the_named_subset_in_mpii_order():
    small = SyntheticKeypoints(3, num_joints=8)
    assert small.joint_names == (
        "right_ankle", "left_ankle", "upper_neck", "head_top", "right_wrist", "right_shoulder", "left_shoulder",
        "left_wrist",
    )  # fmt: skip
    full = SyntheticKeypoints(3, num_joints=16)
    assert full.joint_names == JOINT_NAMES
    assert full.num_joints == 16
    keep = [JOINT_NAMES.index(name) for name in small.joint_names]
    torch.testing.assert_close(small.tensors[2], full.tensors[2][:, keep])
    torch.testing.assert_close(small.tensors[4], full.tensors[4])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_samples": 0}, r"`num_samples` must be an int >= 1, but got 0"),
        ({"image_size": 4}, r"`image_size` must be an int >= 8, but got 4"),
        ({"heatmap_size": 0}, r"`heatmap_size` must be an int >= 1, but got 0"),
        ({"num_joints": 17}, r"`num_joints` must be an int in 1\.\.16, but got 17"),
        ({"sigma": -1.0}, r"`sigma` must be a positive float, but got -1\.0"),
        ({"seed": -3}, r"`seed` must be a non-negative int, but got -3"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticKeypoints(**{"num_samples": 2, **kwargs})
