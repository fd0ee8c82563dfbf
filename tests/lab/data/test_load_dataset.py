import re

import pytest
import torch
from torch.utils.data import TensorDataset

import uniloss_lab.data as data
from uniloss_lab.data import MPII, SyntheticKeypoints, dataset_info, load_dataset

NAMES = ["digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "keypoints", "mpii", "shapes"]


def test_digits_is_a_tensor_dataset_of_image_label_pairs():
    dataset = load_dataset("digits", "test")
    image, label = dataset[0]
    assert isinstance(dataset, TensorDataset)
    assert len(dataset) == 359
    assert image.shape == dataset_info("digits")["image_shape"]
    assert label.dtype == torch.int64


@pytest.mark.parametrize(
    ("name", "fixture", "length"), [("mnist", "mnist_folder", 4), ("fashion-mnist", "mnist_folder", 4)]
)
def test_idx_datasets_load_from_their_folder(request, name, fixture, length):
    folder, _ = request.getfixturevalue(fixture)
    dataset = load_dataset(name, "test", folder)
    image, label = dataset[0]
    assert len(dataset) == length
    assert image.shape == dataset_info(name)["image_shape"]
    assert 0 <= label < dataset_info(name)["num_classes"]


@pytest.mark.parametrize(
    ("name", "fixture", "length"), [("cifar10", "cifar10_folder", 10), ("cifar100", "cifar100_folder", 4)]
)
def test_cifar_datasets_load_from_the_parent_folder(request, name, fixture, length):
    folder, _ = request.getfixturevalue(fixture)
    dataset = load_dataset(name, "train", folder.parent)
    image, label = dataset[length - 1]
    assert len(dataset) == length
    assert image.shape == dataset_info(name)["image_shape"]
    assert 0 <= label < dataset_info(name)["num_classes"]


def test_mpii_takes_images_next_to_the_annotation_and_passes_options(mpii_folder):
    root, _ = mpii_folder
    dataset = load_dataset("mpii", "train", root, input_size=32, heatmap_size=16)
    image, heatmaps, _joints, _visible, _head_size = dataset[0]
    assert isinstance(dataset, MPII)
    assert len(dataset) == 2
    assert image.shape == (3, 32, 32)
    assert heatmaps.shape == (dataset_info("mpii")["num_joints"], 16, 16)
    assert len(load_dataset("mpii", "test", root, images_dir=root / "images")) == 1


def test_keypoint_splits_use_different_seeds_and_accept_options():
    train = load_dataset("keypoints", "train", num_samples=6)
    test = load_dataset("keypoints", "test", num_samples=6)
    assert isinstance(train, SyntheticKeypoints)
    assert len(train) == 6
    assert train.num_joints == dataset_info("keypoints")["num_joints"]
    assert train[0][0].shape == dataset_info("keypoints")["image_shape"]
    assert not torch.equal(train.tensors[2], test.tensors[2])
    assert len(load_dataset("keypoints", "test")) == 500


def test_dataset_info_describes_every_name_and_returns_a_copy():
    for name in NAMES:
        info = dataset_info(name)
        assert info["task"] in ("classification", "pose", "segmentation")
        assert ("num_classes" in info) == (info["task"] in ("classification", "segmentation"))
    dataset_info("cifar10")["num_classes"] = 3
    assert dataset_info("cifar10")["num_classes"] == 10


def test_exports_every_loader():
    assert set(data.__all__) == {
        "DATASET_NAMES", "MPII", "SyntheticKeypoints", "SyntheticShapes",
        "dataset_info", "dataset_names", "load_cifar10", "load_cifar100",
        "load_dataset", "load_digits",
        "load_fashion_mnist", "load_mnist", "read_idx",
    }  # fmt: skip


def test_dataset_names_is_the_one_registry_of_names_by_kind():
    assert tuple(NAMES) == data.DATASET_NAMES
    assert data.dataset_names() == data.DATASET_NAMES
    assert data.dataset_names("classification") == ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")
    assert data.dataset_names("pose") == ("keypoints", "mpii")
    assert data.dataset_names("segmentation") == ("shapes",)
    with pytest.raises(
        ValueError, match=r"`task` must be one of \['classification', 'pose', 'segmentation'\] or None, but got 'x'\."
    ):
        data.dataset_names("x")


@pytest.mark.parametrize("call", [lambda: load_dataset("imagenet", "train"), lambda: dataset_info("imagenet")])
def test_unknown_name_lists_the_valid_names(call):
    valid = re.escape(", ".join(NAMES))
    with pytest.raises(ValueError, match=rf"`name` must be one of {valid}, but got 'imagenet'\."):
        call()


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "mpii"])
def test_datasets_without_default_folder_require_data_dir(name):
    with pytest.raises(ValueError, match=rf"`data_dir` is required for '{name}' \(it is not shipped with uniloss\)"):
        load_dataset(name, "train")


def test_shapes_are_registered_with_their_info_and_split_seeds():
    train = load_dataset("shapes", "train", num_samples=3, image_size=16)
    test = load_dataset("shapes", "test", num_samples=3, image_size=16)
    image, mask = train[0]
    assert (image.shape, mask.shape) == ((1, 16, 16), (16, 16))
    assert not torch.equal(train.tensors[0], test.tensors[0])  # seeds 0 and 1
    assert dataset_info("shapes") == {"task": "segmentation", "num_classes": 4, "image_shape": (1, 64, 64)}
    assert load_dataset("shapes", "train", num_samples=2)[0][0].shape == dataset_info("shapes")["image_shape"]


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'test', but got 'validation'\."):
        load_dataset("keypoints", "validation")


def test_option_the_loader_does_not_take_raises_type_error():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'num_samples'"):
        load_dataset("digits", "train", num_samples=3)
