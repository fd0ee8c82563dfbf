"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 0x0803
LABELS_MAGIC = 0x0801
_GZIP_SIGNATURE = b"\x1f\x8b"
# IDX type byte -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PAYLOAD_NAMES: dict[int, str] = {IMAGES_MAGIC: "pixels", LABELS_MAGIC: "labels"}


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes, gunzipped when it starts with the gzip signature."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({error}).") from error


def read_idx(path: str | Path, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file into a numpy array.

    Formally, the file is ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
    ``prod(sizes)`` items of ``<type>`` (``0x08`` is uint8); MNIST images have magic ``0x0803``
    (uint8, 3 dims) and labels ``0x0801`` (uint8, 1 dim). Gzip is detected from the content, not the name.

    Args:
        path: the IDX file, plain or gzip-compressed.
        expected_magic: if given, the 4-byte magic number the file must start with.

    Returns:
        The array, of shape ``sizes`` and the native-endian dtype of ``<type>``.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: naming the file, if the header is short, the magic number is wrong or unknown, a size
            is zero, or the payload is shorter or longer than the header says.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
        >>> read_idx(path, expected_magic=LABELS_MAGIC)
        array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist.")
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated: expected a 4-byte IDX header, got {len(data)} bytes.")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: bad magic number: expected {expected_magic:#06x}, got {magic:#06x}.")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file: unknown magic number {magic:#010x}.")
    header_length = 4 + 4 * ndim
    if len(data) < header_length:
        raise ValueError(f"{path}: truncated: expected {header_length} bytes of header, got {len(data)}.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if 0 in shape:
        raise ValueError(f"{path}: bad dimensions: expected all sizes > 0, got {shape}.")
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    got = len(data) - header_length
    if got != expected:
        problem = "truncated" if got < expected else "trailing data"
        what = _PAYLOAD_NAMES.get(magic, "data")
        raise ValueError(f"{path}: {problem}: expected {expected} bytes of {what}, got {got}.")
    array = np.frombuffer(data, dtype=dtype, offset=header_length).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
