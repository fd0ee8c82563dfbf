"""A truncated or corrupted data file stops training with an error that names it."""

import json
import re

import pytest

from uniloss_lab.cli import main
from uniloss_lab.data import MPII
from uniloss_lab.train import TrainConfig, train


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_a_truncated_mnist_file_stops_training_naming_it(mnist_folder, name, capsys, tmp_path):
    folder, _ = mnist_folder
    path = folder / name
    _truncate(path)
    config = TrainConfig(dataset="mnist", data_dir=str(folder), device="cpu", epochs=1)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: corrupt or truncated gzip stream"):
        train(config, progress=False)
    argv = ["train", "--dataset", "mnist", "--data-dir", str(folder), "--device", "cpu", "--no-progress",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 1
    assert f"uniloss train: error: {path}: corrupt or truncated gzip stream" in capsys.readouterr().err


def test_a_truncated_uncompressed_idx_file_names_the_missing_bytes(mnist_folder, idx_bytes):
    import gzip

    folder, arrays = mnist_folder
    images, _ = arrays["train"]
    (folder / "train-images-idx3-ubyte.gz").unlink()
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(gzip.decompress(gzip.compress(idx_bytes(images)))[:-100])
    config = TrainConfig(dataset="mnist", data_dir=str(folder), device="cpu", epochs=1)
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(path))}: truncated: expected 4704 bytes of pixels, got 4604"
    ):
        train(config, progress=False)


def test_a_truncated_cifar_batch_stops_training_naming_it(cifar10_folder):
    folder, _ = cifar10_folder
    path = folder / "data_batch_3"
    _truncate(path)
    config = TrainConfig(task="accuracy", dataset="cifar10", data_dir=str(folder.parent), device="cpu", epochs=1)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: truncated or corrupt pickle"):
        train(config, progress=False)


def test_a_truncated_mpii_image_is_named_when_read(mpii_folder):
    root, _ = mpii_folder
    path = root / "images" / "a.jpg"
    _truncate(path, keep=0.4)  # a valid JPEG header, then the data stops
    dataset = MPII(root, None, "train", input_size=16, heatmap_size=8)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path.resolve()))}: not a readable image \((?i:.*truncated)"):
        dataset[0]


def test_a_truncated_mpii_annotation_file_is_named(mpii_folder):
    root, _ = mpii_folder
    path = root / "mpii_annotations.json"
    _truncate(path)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not valid JSON"):
        MPII(root, None, "train")


def test_an_image_under_a_symlinked_folder_leading_outside_is_refused(mpii_folder, tmp_path):
    from PIL import Image

    root, records = mpii_folder
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (8, 8)).save(outside / "secret.jpg")
    (root / "images" / "sub").symlink_to(outside, target_is_directory=True)
    records[0]["img_paths"] = "sub/secret.jpg"
    (root / "mpii_annotations.json").write_text(json.dumps(records))
    with pytest.raises(ValueError, match=r"image path 'sub/secret\.jpg' \(record 0\) resolves to .*, outside "):
        MPII(root, None, "train")[0]
