import gzip
import re
import shutil

import numpy as np
import pytest
import torch

from uniloss_lab.data import mnist
from uniloss_lab.data.mnist import load_fashion_mnist, load_mnist


@pytest.mark.parametrize(("split", "prefix"), [("train", "train"), ("test", "t10k")])
def test_loads_each_split_scaled_to_unit_range_with_int64_labels(mnist_folder, split, prefix):
    folder, arrays = mnist_folder
    images, labels = load_mnist(split, folder)
    expected_images, expected_labels = arrays[prefix]
    assert images.dtype == torch.float32
    assert images.shape == (len(expected_labels), 1, 28, 28)
    assert labels.dtype == torch.int64
    torch.testing.assert_close(images[:, 0], torch.from_numpy(expected_images).float() / 255)
    assert labels.tolist() == expected_labels.tolist()
    assert images.min() >= 0
    assert images.max() <= 1


def test_accepts_uncompressed_files(mnist_folder):
    folder, arrays = mnist_folder
    for path in list(folder.glob("*.gz")):
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    images, labels = load_mnist("test", folder)
    assert images.shape[0] == 4
    assert labels.tolist() == arrays["t10k"][1].tolist()


@pytest.mark.parametrize(("loader", "layout"), [(load_mnist, "MNIST/raw"), (load_fashion_mnist, "FashionMNIST/raw")])
def test_finds_files_in_torchvision_raw_layout(mnist_folder, tmp_path_factory, loader, layout):
    folder, _ = mnist_folder
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(folder, root / layout)
    assert loader("train", root)[0].shape == (6, 1, 28, 28)


def test_fashion_mnist_reads_the_folder_it_is_given(mnist_folder):
    folder, arrays = mnist_folder
    _, labels = load_fashion_mnist("train", folder)
    assert labels.tolist() == arrays["train"][1].tolist()


def test_fashion_mnist_without_folder_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(
        FileNotFoundError, match=r"absent does not exist; install Debian's package dataset-fashion-mnist"
    ):
        load_fashion_mnist("test")


def _drop(folder, name):
    (folder / name).unlink()


ERROR_CASES = [
    (
        "missing labels file",
        lambda folder, write: _drop(folder, "t10k-labels-idx1-ubyte.gz"),
        FileNotFoundError,
        r"IDX file t10k-labels-idx1-ubyte\[\.gz\] not found \(tried .*t10k-labels-idx1-ubyte\.gz, .*\); MNIST is not "
        r"shipped with uniloss",
    ),
    (
        "images not 28x28",
        lambda folder, write: write(folder / "t10k-images-idx3-ubyte.gz", np.zeros((4, 27, 28), np.uint8)),
        ValueError,
        r"t10k-images-idx3-ubyte\.gz: bad dimensions: expected \(N, 28, 28\), got \(4, 27, 28\)",
    ),
    (
        "counts differ",
        lambda folder, write: write(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(5, np.uint8)),
        ValueError,
        r"t10k-labels-idx1-ubyte\.gz: expected 4 labels to match .*t10k-images-idx3-ubyte\.gz, got 5",
    ),
    (
        "label above 9",
        lambda folder, write: write(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 10, 2], np.uint8)),
        ValueError,
        r"t10k-labels-idx1-ubyte\.gz: expected labels in 0\.\.9, got 10",
    ),
    (
        "labels where images belong",
        lambda folder, write: write(folder / "t10k-images-idx3-ubyte.gz", np.zeros(4, np.uint8)),
        ValueError,
        r"t10k-images-idx3-ubyte\.gz: bad magic number: expected 0x0803, got 0x0801",
    ),
]


@pytest.mark.parametrize(("name", "damage", "error", "match"), ERROR_CASES, ids=[case[0] for case in ERROR_CASES])
def test_bad_files_raise_errors_naming_the_file(mnist_folder, write_idx, name, damage, error, match):
    folder, _ = mnist_folder
    damage(folder, write_idx)
    with pytest.raises(error, match=match):
        load_mnist("test", folder)


def test_missing_folder_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=rf"dataset folder {re.escape(str(missing))} does not exist; MNIST"):
        load_mnist("train", missing)


def test_unknown_split_is_rejected(mnist_folder):
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'test', but got 'training'\."):
        load_mnist("training", mnist_folder[0])


def test_real_fashion_mnist_test_split_loads_when_installed():
    if not (mnist.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            f"Fashion-MNIST is not installed in {mnist.FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)"
        )
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 1, 28, 28)
    assert images.dtype == torch.float32
    assert torch.bincount(labels).tolist() == [1000] * 10
    assert labels[:3].tolist() == [9, 2, 1]
