"""Writers of tiny dataset files in the published formats, shared by the tests of `uniloss_lab.data`."""

import gzip
import json
import pickle
import struct

import numpy as np
import pytest


def _idx_bytes(array, type_code=0x08):
    """IDX encoding: 0, 0, type, ndim, big-endian uint32 sizes, big-endian items."""
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", size) for size in array.shape)
    return header + np.asarray(array).astype(dtypes[type_code]).tobytes()


@pytest.fixture
def idx_bytes():
    return _idx_bytes


@pytest.fixture
def write_idx():
    def write(path, array, type_code=0x08, compress=None):
        data = _idx_bytes(array, type_code)
        compress = path.suffix == ".gz" if compress is None else compress
        path.write_bytes(gzip.compress(data) if compress else data)
        return path

    return write


@pytest.fixture
def mnist_folder(tmp_path, write_idx):
    """A folder with the four gzipped MNIST files: 6 train and 4 test images of 28x28."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, count in (("train", 6), ("t10k", 4)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = (images, labels)
    return tmp_path, arrays


@pytest.fixture
def write_cifar_batch():
    """Write a batch dict as the python-version CIFAR files hold it (bytes keys, protocol 2)."""

    def write(path, data, labels, label_key=b"labels", extra=None):
        batch = {b"batch_label": b"testing batch", b"data": data, label_key: list(labels), **(extra or {})}
        batch[b"filenames"] = [f"image_{i}.png".encode() for i in range(len(labels))]
        path.write_bytes(pickle.dumps(batch, protocol=2))
        return path

    return write


def _cifar_rows(rng, count):
    return rng.integers(0, 256, (count, 3072), dtype=np.uint8)


@pytest.fixture
def cifar10_folder(tmp_path, write_cifar_batch):
    """``<tmp>/cifar-10-batches-py`` with five train batches of 2 images each and a test batch of 3."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name, count in [(f"data_batch_{i}", 2) for i in range(1, 6)] + [("test_batch", 3)]:
        data, labels = _cifar_rows(rng, count), rng.integers(0, 10, count).tolist()
        write_cifar_batch(folder / name, data, labels)
        batches[name] = (data, labels)
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_cases_per_batch": 2, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder, batches


@pytest.fixture
def cifar100_folder(tmp_path, write_cifar_batch):
    """``<tmp>/cifar-100-python`` with ``train`` (4 images) and ``test`` (2), fine and coarse labels."""
    rng = np.random.default_rng(2)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    batches = {}
    for name, count in (("train", 4), ("test", 2)):
        data, fine = _cifar_rows(rng, count), [99, *rng.integers(0, 100, count - 1).tolist()]
        coarse = [label // 5 for label in fine]
        write_cifar_batch(folder / name, data, fine, label_key=b"fine_labels", extra={b"coarse_labels": coarse})
        batches[name] = (data, fine)
    return folder, batches


def mpii_record(image="a.jpg", center=(60.0, 50.0), scale=0.4, is_validation=0, **fields):
    """One stacked-hourglass style record; joints spread on a circle around the centre, all visible."""
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    joints = [[center[0] + 30 * np.cos(a), center[1] + 30 * np.sin(a), 1.0] for a in angles]
    record = {
        "dataset": "MPI",
        "isValidation": is_validation,
        "img_paths": image,
        "img_width": 120,
        "img_height": 100,
        "objpos": list(center),
        "joint_self": joints,
        "scale_provided": scale,
    }
    record.update(fields)
    return record


@pytest.fixture
def mpii_folder(tmp_path):
    """``<tmp>/mpii`` with ``mpii_annotations.json`` (2 train records, 1 validation) and ``images/`` of JPEGs."""
    from PIL import Image

    root = tmp_path / "mpii"
    images = root / "images"
    images.mkdir(parents=True)
    for name, colour in (("a.jpg", (200, 30, 30)), ("b.jpg", (30, 200, 30))):
        Image.new("RGB", (120, 100), colour).save(images / name, quality=95)
    records = [
        mpii_record("a.jpg"),
        mpii_record("b.jpg", center=(40.0, 30.0), scale=0.3, is_validation=1, head_box=[10, 10, 40, 50]),
        mpii_record("b.jpg", center=(70.0, 60.0), scale=0.5),
    ]
    (root / "mpii_annotations.json").write_text(json.dumps(records))
    return root, records
