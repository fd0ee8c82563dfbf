import os
import pickle
import re
import struct

import numpy as np
import pytest
import torch

from uniloss_lab.data.cifar import load_cifar10, load_cifar100


def _as_images(data):
    return torch.from_numpy(data).reshape(-1, 3, 32, 32).float() / 255


def test_cifar10_train_concatenates_the_five_batches_in_order(cifar10_folder):
    folder, batches = cifar10_folder
    images, labels = load_cifar10("train", folder)
    names = [f"data_batch_{i}" for i in range(1, 6)]
    assert images.dtype == torch.float32
    assert images.shape == (10, 3, 32, 32)
    assert labels.dtype == torch.int64
    assert labels.tolist() == [label for name in names for label in batches[name][1]]
    torch.testing.assert_close(images, _as_images(np.concatenate([batches[name][0] for name in names])))


def test_cifar10_accepts_the_parent_of_the_batch_folder(cifar10_folder):
    folder, batches = cifar10_folder
    images, labels = load_cifar10("test", folder.parent)
    assert labels.tolist() == batches["test_batch"][1]
    torch.testing.assert_close(images, _as_images(batches["test_batch"][0]))


def test_rows_are_red_then_green_then_blue_planes_in_row_major_order(tmp_path, write_cifar_batch):
    row = np.zeros((1, 3072), dtype=np.uint8)
    row[0, :1024] = 255  # red plane
    row[0, 2048 + 32] = 51  # blue, row 1, column 0
    write_cifar_batch(tmp_path / "test_batch", row, [7])
    images, _ = load_cifar10("test", tmp_path)
    assert torch.all(images[0, 0] == 1)
    assert torch.all(images[0, 1] == 0)
    assert images[0, 2, 1, 0] == pytest.approx(0.2)
    assert images[0, 2].sum() == pytest.approx(0.2)


def test_cifar100_uses_fine_labels(cifar100_folder):
    folder, batches = cifar100_folder
    for split in ("train", "test"):
        images, labels = load_cifar100(split, folder.parent)
        assert images.shape == (len(batches[split][1]), 3, 32, 32)
        assert labels.tolist() == batches[split][1]
    assert load_cifar100("train", folder)[1][0] == 99


def _py2_str(value):
    return (b"U" + bytes([len(value)]) + value) if len(value) < 256 else (b"T" + struct.pack("<i", len(value)) + value)


def _py2_int(value):
    return b"K" + bytes([value]) if value < 256 else b"M" + struct.pack("<H", value)


def _python2_batch_pickle(data, labels):
    """The bytes Python 2's cPickle writes for a batch dict (protocol 2, str keys, numpy.core globals)."""
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _py2_int(0) + b"\x85" + _py2_str(b"b")
        + b"\x87R(" + _py2_int(1) + _py2_int(data.shape[0]) + _py2_int(data.shape[1]) + b"\x86"
        + b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
        + b"(" + _py2_int(3) + _py2_str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + _py2_int(0) + b"tb"
        + b"\x89" + _py2_str(data.tobytes()) + b"tb"
    )  # fmt: skip
    label_list = b"](" + b"".join(_py2_int(label) for label in labels) + b"e"
    return (
        b"\x80\x02}(" + _py2_str(b"batch_label") + _py2_str(b"testing batch 1 of 1") + _py2_str(b"data") + array
        + _py2_str(b"labels") + label_list + b"u."
    )  # fmt: skip


def test_loads_python2_pickles_as_published(tmp_path):
    data = np.random.default_rng(3).integers(0, 256, (2, 3072), dtype=np.uint8)
    (tmp_path / "test_batch").write_bytes(_python2_batch_pickle(data, [4, 9]))
    images, labels = load_cifar10("test", tmp_path)
    assert labels.tolist() == [4, 9]
    torch.testing.assert_close(images, _as_images(data))


class _RunsShell:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.target}",))


def test_pickle_that_would_run_os_system_is_refused_before_running(tmp_path):
    target = tmp_path / "somefile"
    batch = {b"data": _RunsShell(target), b"labels": [0]}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: refusing to unpickle global (posix|os|nt)\.system"):
        load_cifar10("test", tmp_path)
    assert not target.exists()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (
            b"c_codecs\nencode\nX\x01\x00\x00\x00xX\x06\x00\x00\x00rot_13\x86R.",
            r"_codecs\.encode with encoding 'rot_13'",
        ),
        (b"c__builtin__\nbytes\nJ\x00\xe4\x0bT\x85R.", r"bytes\(\) with arguments"),
    ],
)
def test_allowed_helpers_refuse_anything_but_their_pickle_use(tmp_path, payload, match):
    (tmp_path / "test_batch").write_bytes(b"\x80\x02" + payload)
    with pytest.raises(ValueError, match=rf"test_batch: refusing {match}"):
        load_cifar10("test", tmp_path)


def _batch(labels=(1, 2), data=None):
    """A writer of a protocol-2 batch with `labels` and `data` (two zero rows by default)."""
    data = np.zeros((2, 3072), dtype=np.uint8) if data is None else data
    return lambda path: path.write_bytes(pickle.dumps({b"data": data, b"labels": list(labels)}, protocol=2))


def _raw(content):
    return lambda path: path.write_bytes(content)


_VALID = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, protocol=2)
_ROWS = r"field b'data' must be uint8 of shape \(N, 3072\)"
ERROR_CASES = [
    ("truncated", _raw(_VALID[:5000]), r"truncated or corrupt pickle \(UnpicklingError: pickle data was truncated\)"),
    ("empty", _raw(b""), r"truncated or corrupt pickle \(EOFError"),
    ("not a dict", _raw(pickle.dumps([1, 2], protocol=2)), r"expected a dict of batch fields, got list"),
    ("no labels", _raw(pickle.dumps({b"data": b"", b"x": 1}, protocol=2)), r"missing field b'labels'; fields are \["),
    ("float pixels", _batch(data=np.zeros((2, 3072), np.float32)), rf"{_ROWS}, got float32 \(2, 3072\)"),
    ("short rows", _batch(data=np.zeros((2, 1024), np.uint8)), rf"{_ROWS}, got uint8 \(2, 1024\)"),
    ("data not an array", _batch(data=b"xx"), rf"{_ROWS}, got bytes"),
    ("empty data", _batch(data=np.zeros((0, 3072), np.uint8), labels=[]), r"field b'data' must hold at least one"),
    ("label out of range", _batch(labels=[3, 10]), r"field b'labels' must lie in 0\.\.9, got 3\.\.10"),
    ("negative label", _batch(labels=[-1, 0]), r"field b'labels' must lie in 0\.\.9, got -1\.\.0"),
    ("label count", _batch(labels=[1, 2, 3]), r"field b'labels' must be 2 integers, got int64 \(3,\)"),
    ("label strings", _batch(labels=[b"a", b"b"]), r"field b'labels' must be 2 integers, got \|S1 \(2,\)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "write", "match"), ERROR_CASES, ids=[case[0] for case in ERROR_CASES])
def test_malformed_batch_raises_value_error_naming_the_file(tmp_path, name, write, match):
    path = tmp_path / "test_batch"
    write(path)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: {match}"):
        load_cifar10("test", tmp_path)


def test_cifar100_checks_fine_labels_against_100_classes(tmp_path, write_cifar_batch):
    write_cifar_batch(tmp_path / "test", np.zeros((1, 3072), np.uint8), [100], label_key=b"fine_labels")
    with pytest.raises(ValueError, match=r"test: field b'fine_labels' must lie in 0\.\.99, got 100\.\.100"):
        load_cifar100("test", tmp_path)


def test_missing_folder_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"CIFAR folder {re.escape(str(tmp_path / 'none'))} does not exist"):
        load_cifar10("train", tmp_path / "none")


def test_folder_without_batches_names_both_places_looked_in(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"batch file train not found in .* nor in .*cifar-100-python; extract"):
        load_cifar100("train", tmp_path)


def test_missing_later_batch_raises_file_not_found_naming_it(cifar10_folder):
    folder, _ = cifar10_folder
    (folder / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match=r"CIFAR batch file .*data_batch_4 does not exist"):
        load_cifar10("train", folder)


def test_unknown_split_is_rejected(cifar10_folder):
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'test', but got 'valid'\."):
        load_cifar10("valid", cifar10_folder[0])
