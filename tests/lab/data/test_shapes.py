import pytest
import torch

from uniloss_lab.data.shapes import CLASS_NAMES, SyntheticShapes


@pytest.fixture(scope="module")
def dataset():
    return SyntheticShapes(256, image_size=32, seed=0)


@pytest.mark.parametrize(("channels", "num_classes"), [(1, 4), (3, 2), (1, 3)])
def test_items_are_float_images_in_the_unit_range_and_int64_masks(channels, num_classes):
    data = SyntheticShapes(5, image_size=24, num_classes=num_classes, channels=channels, seed=2)
    image, mask = data[4]
    assert image.shape == (channels, 24, 24)
    assert image.dtype == torch.float32
    assert 0 <= image.min() <= image.max() <= 1
    assert mask.shape == (24, 24)
    assert mask.dtype == torch.int64
    masks = data.tensors[1]
    assert masks.min() >= 0
    assert masks.max() == num_classes - 1
    assert data.num_classes == num_classes
    assert data.class_names == CLASS_NAMES[:num_classes]
    assert (data.image_size, data.channels, len(data)) == (24, channels, 5)


def test_same_seed_gives_identical_samples_and_another_seed_different_ones(dataset):
    again = SyntheticShapes(256, image_size=32, seed=0)
    other = SyntheticShapes(256, image_size=32, seed=1)
    for ours, theirs in zip(dataset.tensors, again.tensors, strict=True):
        assert torch.equal(ours, theirs)
    assert not torch.equal(dataset.tensors[1], other.tensors[1])


def test_a_sample_does_not_depend_on_how_many_are_generated():
    many, fewer = SyntheticShapes(300, image_size=16, seed=3), SyntheticShapes(270, image_size=16, seed=3)
    for ours, theirs in zip(many.tensors, fewer.tensors, strict=True):
        assert torch.equal(ours[:270], theirs)


def test_every_class_covers_a_sane_share_of_the_pixels(dataset):
    share = torch.bincount(dataset.tensors[1].flatten(), minlength=4).double() / dataset.tensors[1].numel()
    assert 0.75 < share[0] < 0.95
    assert ((share[1:] > 0.02) & (share[1:] < 0.1)).all(), share
    assert (dataset.tensors[1].flatten(1).amax(1) > 0).float().mean() > 0.95  # almost every image shows a shape


def test_no_intensity_threshold_separates_shapes_from_the_background(dataset):
    images, masks = dataset.tensors
    foreground = (masks > 0).flatten()
    # IoU of "intensity above t" (or below t) as the foreground, for every threshold t on a grid of 0.02
    bins = torch.bucketize(images[:, 0].flatten(), torch.linspace(0, 1, 51))
    fg, bg = torch.bincount(bins[foreground], minlength=52), torch.bincount(bins[~foreground], minlength=52)
    above_fg, above_bg = fg.flip(0).cumsum(0).flip(0), bg.flip(0).cumsum(0).flip(0)
    below_fg, below_bg = fg.sum() - above_fg, bg.sum() - above_bg
    iou_above = above_fg / (above_bg + fg.sum())
    iou_below = below_fg / (below_bg + fg.sum())
    best = torch.cat([iou_above, iou_below]).max().item()
    assert 0.05 < best < 0.35, best


def test_each_class_is_as_often_brighter_as_darker_than_its_image(dataset):
    images, masks = dataset.tensors
    brighter = []
    for label in range(1, 4):
        inside = masks == label
        inside_mean = (images[:, 0] * inside).flatten(1).sum(1) / inside.flatten(1).sum(1)
        has = inside.flatten(1).any(1)
        brighter.append((inside_mean[has] > images[has, 0].flatten(1).median(1).values).float().mean())
    assert all(0.3 < share < 0.7 for share in brighter), brighter


ERRORS = [
    ("num_samples zero", {"num_samples": 0}, ValueError, r"`num_samples` must be a positive int, but got 0"),
    ("num_samples float", {"num_samples": 2.0}, TypeError, r"`num_samples` must be a positive int, but got float"),
    ("image_size small", {"image_size": 8}, ValueError, r"`image_size` must be an int >= 16, but got 8"),
    ("image_size string", {"image_size": "32"}, TypeError, r"`image_size` must be a positive int, but got str"),
    ("one class", {"num_classes": 1}, ValueError, r"`num_classes` must be an int in 2..4, but got 1"),
    ("five classes", {"num_classes": 5}, ValueError, r"`num_classes` must be an int in 2..4, but got 5"),
    ("num_classes bool", {"num_classes": True}, TypeError, r"`num_classes` must be a positive int, but got bool"),
    ("two channels", {"channels": 2}, ValueError, r"`channels` must be 1 or 3, but got 2"),
    ("channels zero", {"channels": 0}, ValueError, r"`channels` must be a positive int, but got 0"),
    ("negative seed", {"seed": -1}, ValueError, r"`seed` must be a non-negative int, but got -1"),
    ("seed float", {"seed": 0.5}, TypeError, r"`seed` must be a non-negative int, but got float"),
]


@pytest.mark.parametrize(("case", "kwargs", "exception", "message"), ERRORS, ids=[row[0] for row in ERRORS])
def test_every_error_names_the_argument_the_expectation_and_the_value(case, kwargs, exception, message):
    with pytest.raises(exception, match=message):
        SyntheticShapes(**{"num_samples": 2, "image_size": 16, **kwargs})
