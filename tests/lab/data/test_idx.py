import gzip
import re
import struct

import numpy as np
import pytest

from uniloss_lab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_reads_plain_and_gzipped_images_alike(tmp_path, write_idx, name):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    array = read_idx(write_idx(tmp_path / name, images), expected_magic=IMAGES_MAGIC)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array, images)


def test_detects_gzip_from_content_not_from_the_file_name(tmp_path, write_idx):
    labels = np.array([3, 1, 4], dtype=np.uint8)
    path = write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path, expected_magic=LABELS_MAGIC), labels)


@pytest.mark.parametrize(
    ("type_code", "dtype"), [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32)]
)
def test_reads_big_endian_types_into_native_arrays(tmp_path, write_idx, type_code, dtype):
    values = np.array([[-2, 1000], [7, -300]], dtype=dtype) if type_code != 0x09 else np.array([[-2, 100], [7, -3]])
    array = read_idx(write_idx(tmp_path / "values", values, type_code=type_code))
    assert array.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(array, values)


def _header(type_code, *shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", size) for size in shape)


ERROR_CASES = [
    (
        "truncated_pixels",
        _header(0x08, 10000, 28, 28) + bytes(1234),
        r"truncated: expected 7840000 bytes of pixels, got 1234",
    ),
    ("trailing_labels", _header(0x08, 3) + bytes(5), r"trailing data: expected 3 bytes of labels, got 5"),
    ("short_header", bytes([0, 0, 8]), r"truncated: expected a 4-byte IDX header, got 3 bytes"),
    ("short_sizes", _header(0x08, 10, 28, 28)[:9], r"truncated: expected 16 bytes of header, got 9"),
    ("zero_size", _header(0x08, 0, 28, 28), r"bad dimensions: expected all sizes > 0, got \(0, 28, 28\)"),
    ("unknown_type", _header(0x07, 2) + bytes(2), r"not an IDX file: unknown magic number 0x00000701"),
    ("not_idx", b"PK\x03\x04 a zip file", r"not an IDX file: unknown magic number 0x504b0304"),
    ("corrupt_gzip", gzip.compress(_header(0x08, 4) + bytes(4))[:-6], r"corrupt or truncated gzip stream"),
]


@pytest.mark.parametrize(("name", "content", "match"), ERROR_CASES, ids=[case[0] for case in ERROR_CASES])
def test_malformed_files_raise_value_error_naming_the_file(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: {match}"):
        read_idx(path)


def test_wrong_magic_number_is_reported_with_both_values(tmp_path, write_idx):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((1, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: bad magic number: expected 0x0801, got 0x0803\."):
        read_idx(path, expected_magic=LABELS_MAGIC)


def test_missing_file_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"IDX file {re.escape(str(tmp_path / 'absent'))} does not exist"):
        read_idx(tmp_path / "absent")
